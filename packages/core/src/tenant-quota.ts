import { TenantError } from './errors.js';

/** A tenant's size limit in bytes: one number for every tenant, or a function giving each its own (`undefined`: no limit). */
export type TenantQuotaLimit = number | ((tenantId: string) => number | undefined | Promise<number | undefined>);

/**
 * Per-tenant size quotas (the `quota` option). Off unless given. How the limit holds depends on the strategy:
 * SQLite refuses the write itself (`PRAGMA max_page_count` on the tenant's connection); PostgreSQL measures
 * the tenant's schema on open and then at most every `checkIntervalMs` while it is used, and refuses
 * inserts and updates once it is over (so it can overshoot by what it writes within one interval).
 * Either way the write fails with `ERR_TENANT_QUOTA_EXCEEDED` and the `tenantQuotaExceeded` event fires;
 * reads and deletes keep working.
 */
export interface TenantQuotaOptions {
  /**
   * Bytes a tenant may use, or `(tenantId) => bytes | undefined` for per-tenant limits (paying tenants get
   * more; read them from your own table). Asked when a tenant opens (its connection keeps the answer until
   * it is evicted or the tenancy restarts).
   */
  maxBytes: TenantQuotaLimit;
  /** PostgreSQL: how often a tenant's schema size is measured while it is used. @default 10000 */
  checkIntervalMs?: number;
}

/** {@link TenantQuotaOptions} validated, with defaults. */
export interface ResolvedTenantQuota {
  readonly maxBytes: TenantQuotaLimit;
  readonly checkIntervalMs: number;
}

/** Checks the `quota` option: `undefined` when fine, else what was expected (for a strategy's option checks). */
export function checkQuotaOption(value: unknown): string | undefined {
  if (value === undefined || value === false) {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) {
    return 'expected { maxBytes, checkIntervalMs? } or false';
  }
  const { maxBytes, checkIntervalMs, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    return `"${unknown}" is not a quota option (maxBytes, checkIntervalMs)`;
  }
  if (typeof maxBytes !== 'function' && !isLimit(maxBytes)) {
    return 'maxBytes: expected a positive number of bytes or a function (tenantId) => bytes | undefined';
  }
  if (checkIntervalMs !== undefined && !(typeof checkIntervalMs === 'number' && Number.isFinite(checkIntervalMs) && checkIntervalMs >= 0)) {
    return 'checkIntervalMs: expected a non-negative number of milliseconds';
  }
  return undefined;
}

/** The quota option with its defaults, or undefined when off. Call after {@link checkQuotaOption}. */
export function resolveQuota(value: TenantQuotaOptions | false | undefined): ResolvedTenantQuota | undefined {
  if (!value) {
    return undefined;
  }
  return Object.freeze({ maxBytes: value.maxBytes, checkIntervalMs: value.checkIntervalMs ?? 10_000 });
}

/**
 * The limit of one tenant in bytes, or undefined for none.
 * @throws TenantError `ERR_INVALID_OPTION` when the function returns something else than a positive number or undefined
 */
export async function quotaOf(quota: ResolvedTenantQuota | undefined, tenantId: string): Promise<number | undefined> {
  if (!quota) {
    return undefined;
  }
  const limit = typeof quota.maxBytes === 'function' ? await quota.maxBytes(tenantId) : quota.maxBytes;
  if (limit !== undefined && !isLimit(limit)) {
    throw TenantError.invalidOption('tenancy.quota.maxBytes', `for tenant "${tenantId}" it returned ${String(limit)}; return a positive number of bytes or undefined`);
  }
  return limit;
}

function isLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * Which tenant an EntityManager works for. The mark rides on MikroORM's logger context, which every fork
 * copies and MikroORM hands with each statement to the connection (and to the query log): the guard reads it
 * from the EntityManager, the PostgreSQL binding from the statement, so both see the same tenant, also for
 * an EntityManager used outside `run()`.
 * @module
 */
import { TenantError } from '@mikro-tenant/core';

/** Logger-context key naming the tenant of an EntityManager's statements. */
export const TENANT_KEY = 'mikroTenant';
/** Logger-context key naming the life of the tenant an EntityManager was made in (see tenant-incarnations.ts). */
export const INCARNATION_KEY = 'mikroTenantIncarnation';
/** Logger-context key set by `unscoped()`: the statements see every tenant. */
export const UNSCOPED_KEY = 'mikroTenantUnscoped';
/** Label MikroORM's default logger prints in front of unscoped statements. */
export const UNSCOPED_LABEL = 'mikro-tenant: unscoped, all tenants';

/** What an EntityManager's statements are limited to: one tenant, all of them (`unscoped()`), or nothing said. */
export type RowScope = { tenantId: string } | { all: true } | undefined;

/**
 * The logger context that marks an EntityManager as working for `tenantId`; with `incarnation`, only for as
 * long as that life of the tenant lasts (the tenancy's own statements carry none).
 */
export function tenantLoggerContext(tenantId: string, incarnation?: number): Record<string, unknown> {
  return incarnation === undefined ? { [TENANT_KEY]: tenantId } : { [TENANT_KEY]: tenantId, [INCARNATION_KEY]: incarnation };
}

/** The logger context of `unscoped()`: every tenant, and a label the query log shows. */
export function unscopedLoggerContext(): Record<string, unknown> {
  return { [UNSCOPED_KEY]: true, label: UNSCOPED_LABEL };
}

/** The scope a logger context names. */
export function scopeOfContext(context: Record<string, unknown> | undefined): RowScope {
  if (!context) {
    return undefined;
  }
  if (context[UNSCOPED_KEY] === true) {
    return { all: true };
  }
  const tenantId = context[TENANT_KEY];
  return typeof tenantId === 'string' ? { tenantId } : undefined;
}

/**
 * The tenant a statement on a tenant-owned entity is limited to, or `undefined` under `unscoped()`.
 * @throws TenantError `ERR_NO_TENANT_CONTEXT` when the scope names no tenant
 */
export function requireTenant(scope: RowScope, what: string): string | undefined {
  if (!scope) {
    throw TenantError.noTenantContext(what);
  }
  return 'all' in scope ? undefined : scope.tenantId;
}

/** The scope of an EntityManager: what its logger context names (MikroORM keeps `loggerContext` protected). */
export function scopeOf(em: unknown): RowScope {
  return scopeOfContext((em as { loggerContext?: Record<string, unknown> }).loggerContext);
}

import { TenantError, type TenantObserver } from '@mikro-tenant/core';

/** Statements that add data: refused once the tenant is over its quota (reads, deletes and DDL still run). */
const WRITE = /^\s*(?:insert|update|merge|copy)\b/i;

/** What a {@link SchemaQuota} works with. */
export interface SchemaQuotaInit {
  tenantId: string;
  limitBytes: number;
  /** Measures the tenant's schema in bytes (tables, indexes, TOAST). */
  measure: () => Promise<number>;
  /** Least time between two measurements while the tenant is used. */
  intervalMs: number;
  observer: TenantObserver;
  /** Receives each background measurement, for the tenancy's close to wait for. */
  track(measuring: Promise<void>): void;
}

/**
 * The size quota of one open PostgreSQL tenant. PostgreSQL has no per-schema limit, so the schema is
 * measured when the tenant opens and then, in the background, at most every `intervalMs` while it runs
 * statements; once a measurement finds it at or over the limit, its inserts and updates are refused before
 * they are sent, until a later measurement finds it under again (after deletes, or a higher limit at the next open).
 * Between two measurements a tenant can write past the limit by what it writes in one interval.
 */
export class SchemaQuota {
  readonly #init: SchemaQuotaInit;
  #over = false;
  #size?: number;
  #measuredAt = -Infinity;
  #measuring?: Promise<void>;

  constructor(init: SchemaQuotaInit) {
    this.#init = init;
  }

  /** Measures now. */
  async measure(): Promise<void> {
    const size = await this.#init.measure();
    this.#size = size;
    this.#measuredAt = performance.now();
    this.#over = size >= this.#init.limitBytes;
    this.#init.observer.sized(this.#init.tenantId, size);
  }

  /**
   * Called before each statement: starts a measurement when one is due, and refuses a write when the
   * last one found the tenant over. `sql` is asked for only then.
   * @throws TenantError `ERR_TENANT_QUOTA_EXCEEDED`
   */
  beforeStatement(sql: () => string): void {
    if (!this.#measuring && performance.now() - this.#measuredAt >= this.#init.intervalMs) {
      // A failed measurement keeps the last answer; the next statement after the interval tries again.
      this.#measuredAt = performance.now();
      this.#measuring = this.measure().catch(() => undefined).finally(() => { this.#measuring = undefined; });
      this.#init.track(this.#measuring);
    }
    if (this.#over && WRITE.test(sql())) {
      const { tenantId, limitBytes, observer } = this.#init;
      observer.quotaExceeded(tenantId, limitBytes, this.#size);
      throw TenantError.quotaExceeded(tenantId, limitBytes);
    }
  }

  /** Resolves when a measurement under way has settled (tests, shutdown). */
  async settle(): Promise<void> {
    await this.#measuring;
  }
}

import { SpanStatusCode } from '@opentelemetry/api';
import { TenancyEvents, eventError, type TenantCreationMethod } from './tenancy-events.js';
import type { TenancyOperatingOptions } from './tenancy-operating-options.js';
import { TENANCY_SPANS, TenancyTelemetry } from './tenancy-telemetry.js';
import { quotaOf, resolveQuota, type ResolvedTenantQuota } from './tenant-quota.js';
import { TenantUsage } from './tenant-usage.js';

/**
 * What a strategy reports to its tenancy while it works: statements (timed for the statistics and metrics),
 * quotas, sizes. `AbstractTenancy` hands it to `strategy.observe()` before the first tenant opens.
 */
export interface TenantObserver {
  /** False with `stats: false`: then statements are run as they are, without {@link query}. */
  readonly timesQueries: boolean;
  /** Runs one statement of a tenant, timed (and traced inside a traced request). */
  query<T>(tenantId: string, run: () => Promise<T>): Promise<T>;
  /** The tenant's quota in bytes, or undefined for none. @throws TenantError `ERR_INVALID_OPTION` for a bad per-tenant answer */
  quotaOf(tenantId: string): Promise<number | undefined>;
  /** How often a strategy that measures sizes (not one whose database enforces the limit) measures a tenant in use. */
  readonly quotaCheckIntervalMs: number;
  /** A write of the tenant was refused by its quota: fires `tenantQuotaExceeded`. */
  quotaExceeded(tenantId: string, limitBytes: number, sizeBytes?: number): void;
  /** The tenant's size as just measured (for `stats()`). */
  sized(tenantId: string, bytes: number): void;
}

/** A tenancy's events, per-tenant statistics, quotas and telemetry, for `AbstractTenancy` and its strategy. */
export class TenancyMonitor implements TenantObserver {
  readonly events: TenancyEvents;
  readonly usage: TenantUsage;
  readonly telemetry: TenancyTelemetry;
  readonly timesQueries: boolean;
  readonly #quota?: ResolvedTenantQuota;

  constructor(options: TenancyOperatingOptions, warn: (message: string, code: string) => void, openTenants: () => number) {
    this.events = new TenancyEvents(warn, options.subscribers);
    this.timesQueries = options.stats !== false;
    this.usage = new TenantUsage(options.stats || {});
    this.telemetry = new TenancyTelemetry(options.telemetry ?? {}, this.usage, openTenants);
    this.#quota = resolveQuota(options.quota);
  }

  get quotaCheckIntervalMs(): number {
    return this.#quota?.checkIntervalMs ?? 0;
  }

  query<T>(tenantId: string, run: () => Promise<T>): Promise<T> {
    const span = this.telemetry.querySpan(tenantId);
    const start = performance.now();
    const done = (): void => {
      const end = performance.now();
      this.usage.query(tenantId, end - start, end);
      this.telemetry.query(end - start);
      span?.end();
    };
    return run().then(result => {
      done();
      return result;
    }, (error: unknown) => {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      done();
      throw error;
    });
  }

  quotaOf(tenantId: string): Promise<number | undefined> {
    return quotaOf(this.#quota, tenantId);
  }

  quotaExceeded(tenantId: string, limitBytes: number, sizeBytes?: number): void {
    this.telemetry.quotaExceeded();
    if (sizeBytes !== undefined) {
      this.usage.size(tenantId, sizeBytes);
    }
    this.events.emit({ type: 'tenantQuotaExceeded', tenantId, limitBytes, ...(sizeBytes === undefined ? {} : { sizeBytes }) });
  }

  sized(tenantId: string, bytes: number): void {
    this.usage.size(tenantId, bytes);
  }

  /** A cold open: span, latency, `tenantOpened`. */
  async opening<T>(tenantId: string, open: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const opened = await this.telemetry.span(TENANCY_SPANS.open, tenantId, open);
    const durationMs = performance.now() - start;
    this.telemetry.opened(durationMs);
    this.events.emit({ type: 'tenantOpened', tenantId, durationMs });
    return opened;
  }

  /** One provisioning: span, latency, `tenantCreated` when it created the tenant, `tenantProvisioningFailed` when it failed. */
  async provisioning<R extends { created: boolean; record: { schemaVersion: string | null }; how?: TenantCreationMethod }>(
    tenantId: string, provision: () => Promise<R>,
  ): Promise<R> {
    const start = performance.now();
    try {
      const result = await this.telemetry.span(TENANCY_SPANS.provision, tenantId, async span => {
        const r = await provision();
        span.setAttribute('mikro_tenant.created', r.created);
        return r;
      });
      if (result.created) {
        const durationMs = performance.now() - start;
        const how = result.how ?? 'migrations';
        this.telemetry.provisioned(durationMs, how);
        this.events.emit({ type: 'tenantCreated', tenantId, how, schemaVersion: result.record.schemaVersion, durationMs });
      }
      return result;
    } catch (error) {
      this.events.emit({ type: 'tenantProvisioningFailed', tenantId, error: eventError(error), durationMs: performance.now() - start });
      throw error;
    }
  }

  /** A tenant left the pool. */
  evicted(tenantId: string, reason: 'idle' | 'closing'): void {
    this.telemetry.evicted(reason);
    this.events.emit({ type: 'tenantEvicted', tenantId, reason });
  }

  /** One migration run: span, `tenantMigrated` (when it applied anything) or `tenantMigrationFailed`. */
  async migrating<R extends { executed: string[]; version: string | null }>(tenantId: string, from: string | null, migrate: () => Promise<R>): Promise<R> {
    const start = performance.now();
    try {
      const result = await this.telemetry.span(TENANCY_SPANS.migrate, tenantId, migrate);
      // A run that found nothing to apply is not news.
      if (result.executed.length > 0) this.events.emit({ type: 'tenantMigrated', tenantId, from, to: result.version, executed: result.executed, durationMs: performance.now() - start });
      return result;
    } catch (error) {
      this.events.emit({ type: 'tenantMigrationFailed', tenantId, from, error: eventError(error), durationMs: performance.now() - start });
      throw error;
    }
  }

  /** One deletion: span, `tenantDeleted` when there was anything to delete. */
  async deleting(tenantId: string, remove: () => Promise<boolean>): Promise<boolean> {
    const start = performance.now();
    const existed = await this.telemetry.span(TENANCY_SPANS.delete, tenantId, remove);
    this.usage.forget(tenantId);
    if (existed) {
      this.events.emit({ type: 'tenantDeleted', tenantId, durationMs: performance.now() - start });
    }
    return existed;
  }
}

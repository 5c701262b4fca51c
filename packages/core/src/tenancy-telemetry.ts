import {
  SpanStatusCode, context, metrics, trace,
  type BatchObservableCallback, type Counter, type Histogram, type ObservableCallback, type MeterProvider, type Span, type Tracer, type TracerProvider,
} from '@opentelemetry/api';
import type { TenantUsage } from './tenant-usage.js';

/** Where a tenancy sends its spans and metrics (the `telemetry` option). */
export interface TenancyTelemetryOptions {
  /** @default the global tracer provider (`trace.getTracerProvider()`): a no-op until the app registers an SDK */
  tracerProvider?: TracerProvider;
  /** @default the global meter provider at `init()`: register the SDK's before it, or pass it here */
  meterProvider?: MeterProvider;
}

/** Attribute naming the tenant on spans and on the per-tenant metrics. */
export const TENANT_ID_ATTRIBUTE = 'mikro_tenant.tenant.id';

/** Every metric a tenancy reports, by name (OpenTelemetry names; Prometheus exporters turn dots into underscores). */
export const TENANCY_METRICS = Object.freeze({
  openTenants: 'mikro_tenant.tenants.open',
  openDuration: 'mikro_tenant.tenant.open.duration',
  provisionDuration: 'mikro_tenant.tenant.provision.duration',
  evictions: 'mikro_tenant.tenant.evictions',
  queries: 'mikro_tenant.queries',
  queryDuration: 'mikro_tenant.query.duration',
  tenantQueryTime: 'mikro_tenant.tenant.query_time',
  tenantQueries: 'mikro_tenant.tenant.queries',
  tenantSize: 'mikro_tenant.tenant.size',
  quotaExceeded: 'mikro_tenant.tenant.quota_exceeded',
});

/** Every span a tenancy starts, by name. */
export const TENANCY_SPANS = Object.freeze({
  open: 'mikro_tenant.open',
  provision: 'mikro_tenant.provision',
  migrate: 'mikro_tenant.migrate',
  delete: 'mikro_tenant.delete',
  query: 'mikro_tenant.query',
});

/**
 * A tenancy's spans and metrics through `@opentelemetry/api` only: with no SDK registered every call is a
 * no-op. Per-tenant series (`tenant.query_time`, `tenant.queries`, `tenant.size`) are reported for the
 * top `stats.top` tenants of the stats window only, so their cardinality is bounded by that number
 * whatever the number of tenants; the other metrics carry no tenant id at all.
 */
export class TenancyTelemetry {
  readonly #tracer: Tracer;
  readonly #queries: Counter;
  readonly #queryDuration: Histogram;
  readonly #openDuration: Histogram;
  readonly #provisionDuration: Histogram;
  readonly #evictions: Counter;
  readonly #quotaExceeded: Counter;
  /** Unregisters the observable callbacks, which would otherwise keep a closed tenancy reachable from the meter. */
  readonly #unobserve: () => void;

  constructor(options: TenancyTelemetryOptions, usage: TenantUsage, openTenants: () => number) {
    this.#tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer('mikro-tenant');
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('mikro-tenant');
    this.#queries = meter.createCounter(TENANCY_METRICS.queries, { description: 'Statements run on tenant connections' });
    this.#queryDuration = meter.createHistogram(TENANCY_METRICS.queryDuration, { unit: 'ms', description: 'Time of a statement on a tenant connection' });
    this.#openDuration = meter.createHistogram(TENANCY_METRICS.openDuration, { unit: 'ms', description: 'Cold open of a tenant (provisioning included)' });
    this.#provisionDuration = meter.createHistogram(TENANCY_METRICS.provisionDuration, { unit: 'ms', description: 'Creating a tenant\'s storage' });
    this.#evictions = meter.createCounter(TENANCY_METRICS.evictions, { description: 'Tenants closed to stay within maxOpen' });
    this.#quotaExceeded = meter.createCounter(TENANCY_METRICS.quotaExceeded, { description: 'Writes refused by a tenant\'s quota' });
    const open = meter.createObservableUpDownCounter(TENANCY_METRICS.openTenants, { description: 'Tenants open in this process' });
    const observeOpen: ObservableCallback = result => result.observe(openTenants());
    open.addCallback(observeOpen);
    const queryTime = meter.createObservableGauge(TENANCY_METRICS.tenantQueryTime, { unit: 'ms', description: 'Query time of the top tenants over the stats window' });
    const queryCount = meter.createObservableGauge(TENANCY_METRICS.tenantQueries, { description: 'Statements of the top tenants over the stats window' });
    const size = meter.createObservableGauge(TENANCY_METRICS.tenantSize, { unit: 'By', description: 'Size of the largest tenants as last measured' });
    const observeTop: BatchObservableCallback = result => {
      const view = usage.stats();
      for (const row of view.topByQueryTime) {
        result.observe(queryTime, row.queryTimeMs, { [TENANT_ID_ATTRIBUTE]: row.tenantId });
        result.observe(queryCount, row.queries, { [TENANT_ID_ATTRIBUTE]: row.tenantId });
      }
      for (const row of view.topBySize) {
        result.observe(size, row.sizeBytes, { [TENANT_ID_ATTRIBUTE]: row.tenantId });
      }
    };
    meter.addBatchObservableCallback(observeTop, [queryTime, queryCount, size]);
    this.#unobserve = () => {
      open.removeCallback(observeOpen);
      meter.removeBatchObservableCallback(observeTop, [queryTime, queryCount, size]);
    };
  }

  /** Stops reporting the observed metrics (the tenancy closed). */
  close(): void {
    this.#unobserve();
  }

  /** Runs `work` in a span named `name` for one tenant (its child spans nest under it), recording a failure on it. */
  async span<T>(name: string, tenantId: string, work: (span: Span) => Promise<T>): Promise<T> {
    return this.#tracer.startActiveSpan(name, { attributes: { [TENANT_ID_ATTRIBUTE]: tenantId } }, async span => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /**
   * A span around one statement, only inside a recording span (a traced request, say): spares untraced
   * work the cost. Undefined otherwise.
   */
  querySpan(tenantId: string): Span | undefined {
    const parent = trace.getSpan(context.active());
    if (!parent?.isRecording()) {
      return undefined;
    }
    return this.#tracer.startSpan(TENANCY_SPANS.query, { attributes: { [TENANT_ID_ATTRIBUTE]: tenantId } });
  }

  /** Names the tenant on the active span (the HTTP request's, say), if any records. */
  tagActiveSpan(tenantId: string): void {
    const span = trace.getSpan(context.active());
    if (span?.isRecording()) {
      span.setAttribute(TENANT_ID_ATTRIBUTE, tenantId);
    }
  }

  query(timeMs: number): void {
    this.#queries.add(1);
    this.#queryDuration.record(timeMs);
  }

  opened(timeMs: number): void {
    this.#openDuration.record(timeMs);
  }

  provisioned(timeMs: number, how: string): void {
    this.#provisionDuration.record(timeMs, { 'mikro_tenant.creation_method': how });
  }

  evicted(reason: string): void {
    this.#evictions.add(1, { 'mikro_tenant.reason': reason });
  }

  quotaExceeded(): void {
    this.#quotaExceeded.add(1);
  }
}

import { expect } from 'chai';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData,
} from '@opentelemetry/sdk-metrics';
import { TENANCY_METRICS, TENANCY_SPANS, TENANT_ID_ATTRIBUTE } from '@mikro-tenant/core';
import { Note } from '../fixtures/entities.js';
import { forEachStrategy } from './fixture.js';

/** The real SDK with in-memory exporters, passed to the tenancy (no global state), and a context manager so spans nest. */
function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider, meterProvider,
    spans: (): ReadableSpan[] => spans.getFinishedSpans(),
    async metrics(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const all = metricExporter.getMetrics().at(-1)?.scopeMetrics.flatMap(scope => scope.metrics) ?? [];
      return new Map(all.map(metric => [metric.descriptor.name, metric]));
    },
    shutdown: async () => { await meterProvider.shutdown(); await tracerProvider.shutdown(); },
  };
}

forEachStrategy('OpenTelemetry', fixture => {
  let otel: ReturnType<typeof sdk>;
  before(() => { context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()); });
  after(() => { context.disable(); });
  beforeEach(() => { otel = sdk(); });
  afterEach(() => otel.shutdown());

  it('a span per tenant operation (provision nested in the cold open that needed it, migrate, delete), each naming the tenant', async () => {
    const tenancy = await fixture().make({ telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider }, migrations: 'base' });
    await tenancy.run('auto', em => em.count(Note, {}));
    await tenancy.createTenant('made');
    await tenancy.migrateTenant('made');
    await tenancy.deleteTenant('made');
    const spans = otel.spans().map(s => ({ name: s.name, tenant: s.attributes[TENANT_ID_ATTRIBUTE], id: s.spanContext().spanId, parent: s.parentSpanContext?.spanId }));
    const open = spans.find(s => s.name === TENANCY_SPANS.open && s.tenant === 'auto');
    const provisionAuto = spans.find(s => s.name === TENANCY_SPANS.provision && s.tenant === 'auto');
    expect(open, JSON.stringify(spans)).to.not.equal(undefined);
    expect(provisionAuto?.parent).to.equal(open!.id);
    for (const name of [TENANCY_SPANS.provision, TENANCY_SPANS.migrate, TENANCY_SPANS.delete]) {
      expect(spans.some(s => s.name === name && s.tenant === 'made'), name).to.equal(true);
    }
  });

  it('inside a traced request: the request span names the tenant, and each statement gets a child span naming it; untraced work gets none', async () => {
    const tenancy = await fixture().make({ telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider } });
    await tenancy.run('a', em => em.count(Note, {}));
    const before = otel.spans().filter(s => s.name === TENANCY_SPANS.query).length;
    expect(before).to.equal(0);
    const tracer = otel.tracerProvider.getTracer('test');
    await tracer.startActiveSpan('GET /notes', async request => {
      await tenancy.run('a', async em => { em.create(Note, { text: 'x' }); await em.flush(); return em.count(Note, {}); });
      request.end();
    });
    const all = otel.spans();
    const request = all.find(s => s.name === 'GET /notes')!;
    expect(request.attributes[TENANT_ID_ATTRIBUTE]).to.equal('a');
    const queries = all.filter(s => s.name === TENANCY_SPANS.query);
    expect(queries.length).to.be.at.least(2);
    for (const query of queries) {
      expect(query.attributes[TENANT_ID_ATTRIBUTE]).to.equal('a');
      expect(query.parentSpanContext?.spanId).to.equal(request.spanContext().spanId);
    }
    expect(trace.getActiveSpan()).to.equal(undefined);
  });

  it('metrics: open tenants, open and provisioning latency, evictions, queries; per-tenant series only for the top tenants', async () => {
    const tenancy = await fixture().make({ telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider }, maxOpen: 2, stats: { top: 2 } });
    for (const [id, queries] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) {
      for (let i = 0; i < queries; i++) {
        await tenancy.run(id, em => em.count(Note, {}));
      }
    }
    const metrics = await otel.metrics();
    const sum = (name: string) => metrics.get(name)!.dataPoints.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
    expect(sum(TENANCY_METRICS.openTenants)).to.equal(2);
    expect(sum(TENANCY_METRICS.openDuration)).to.equal(4);
    expect(sum(TENANCY_METRICS.provisionDuration)).to.equal(4);
    expect(sum(TENANCY_METRICS.evictions)).to.equal(2);
    expect(sum(TENANCY_METRICS.queries)).to.be.at.least(10);
    expect(sum(TENANCY_METRICS.queryDuration)).to.equal(sum(TENANCY_METRICS.queries));
    // Bounded cardinality: no tenant id on the totals, at most `stats.top` tenants on the per-tenant series.
    for (const name of [TENANCY_METRICS.queries, TENANCY_METRICS.queryDuration, TENANCY_METRICS.openDuration]) {
      expect(metrics.get(name)!.dataPoints.every(p => !(TENANT_ID_ATTRIBUTE in p.attributes)), name).to.equal(true);
    }
    const perTenant = metrics.get(TENANCY_METRICS.tenantQueryTime)!.dataPoints.map(p => p.attributes[TENANT_ID_ATTRIBUTE]);
    expect(perTenant).to.have.length(2);
    expect(metrics.get(TENANCY_METRICS.tenantQueries)!.dataPoints).to.have.length(2);
    // A closed tenancy's callbacks are unregistered (it is no longer reachable from the meter): had the
    // callback run again it would have observed 0 open tenants; the SDK keeps the last point instead.
    await tenancy.close();
    const after = await otel.metrics();
    expect(after.get(TENANCY_METRICS.openTenants)!.dataPoints.map(p => p.value)).to.deep.equal([2]);
  });
});

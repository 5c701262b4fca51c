/**
 * The cost of leaving the operating features on, on the HTTP scenario's workload: `GET /notes` (20 rows)
 * through Koa for 100 warm tenants round-robin (autocannon over loopback), served by two tenancies, each in
 * its own process:
 * - `on`: per-tenant statistics (every statement timed), a lifecycle event subscriber, and a real
 *   OpenTelemetry MeterProvider and TracerProvider (SDK, in-memory exporters) so every metric is aggregated;
 * - `off`: `stats: false`, no subscriber, no SDK (the OpenTelemetry API's no-ops);
 * - `stats`: statistics alone, and `sdk`: the OpenTelemetry SDK alone (`stats: false`), to split what `on` costs.
 * Rounds alternate which server is loaded first. The ratio compares the servers' CPU time per request
 * (`process.cpuUsage()` of each server process over its load), which other processes on the machine
 * disturb far less than throughput; requests per second are shown beside it.
 */
import Koa from 'koa';
import type { EntityManager } from '@mikro-orm/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { fromHeader, tenantMiddleware } from '@mikro-tenant/koa';
import { entry, median, type Scenario } from './harness.js';
import { TENANTS, listen, loadNotes, serveIfServer, startServer, stopServers, type Server } from './http-servers.js';
import { NOTES_PER_TENANT, makeNote, noteRows, openTenancy, seedTenantFiles } from './model.js';

type Kind = 'on' | 'off' | 'stats' | 'sdk';
const KINDS: Kind[] = ['on', 'off', 'stats', 'sdk'];

function operatingOptions(kind: Kind): object {
  if (kind === 'off') {
    return { stats: false };
  }
  if (kind === 'stats') {
    return {};
  }
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 10_000 })],
  });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
  if (kind === 'sdk') {
    return { stats: false, telemetry: { meterProvider, tracerProvider } };
  }
  let events = 0;
  return { telemetry: { meterProvider, tracerProvider }, subscribers: [{ onEvent: () => { events++; } }] };
}

async function serve(kind: Kind, dir: string): Promise<void> {
  const app = new Koa<{ em?: EntityManager }>();
  const Note = makeNote();
  const tenancy = await openTenancy(dir, { entities: [Note], maxOpen: TENANTS, ...operatingOptions(kind) });
  await seedTenantFiles(tenancy, TENANTS, async em => {
    noteRows().forEach(row => em.create(Note, row));
    await em.flush();
  });
  app.use(tenantMiddleware(tenancy, { resolve: fromHeader('X-Tenant-ID') }));
  app.use(async ctx => {
    ctx.body = await ctx.state.em!.find(Note as never, {}, { orderBy: { id: 'asc' }, limit: NOTES_PER_TENANT } as never);
  });
  listen(app, () => tenancy.close(), message => {
    if (message.cpu) {
      const { user, system } = process.cpuUsage();
      process.send!({ cpuUs: user + system });
    }
  });
}

/** CPU time the server process has used so far, in microseconds. */
function cpuOf(server: Server): Promise<number> {
  return new Promise(resolve => {
    const onMessage = (message: { cpuUs?: number }) => {
      if (message.cpuUs !== undefined) {
        server.proc.off('message', onMessage);
        resolve(message.cpuUs);
      }
    };
    server.proc.on('message', onMessage);
    server.proc.send({ cpu: true });
  });
}

/** Loads `server`: requests per second, and the server's CPU time per request in microseconds. */
async function load(server: Server, durationS: number, amount?: number): Promise<{ reqS: number; cpuUs: number }> {
  const before = await cpuOf(server);
  const result = await loadNotes(server, durationS, amount);
  const cpuUs = (await cpuOf(server) - before) / result.requests.total;
  return { reqS: result.requests.average, cpuUs };
}

const scenario: Scenario = {
  name: 'operating',
  title: 'HTTP GET /notes, 100 warm tenants: statistics, events and OpenTelemetry on vs off',
  async run(ctx) {
    const rounds = ctx.quick ? 1 : 10;
    const durationS = ctx.quick ? 1 : 2;
    const servers = await Promise.all(KINDS.map(kind => startServer(import.meta.url, kind, ctx.dir)));
    const byKind = Object.fromEntries(servers.map(s => [s.kind, s])) as Record<Kind, Server<Kind>>;
    try {
      for (const server of servers) {
        await load(server, 1, ctx.quick ? 100 : 3000);
      }
      const samples: Record<Kind, { reqS: number; cpuUs: number }[]> = { on: [], off: [], stats: [], sdk: [] };
      const ratios: number[] = [];
      // What each feature adds per request over `off`, per round (the same round's load on the machine).
      const extra = { on: [] as number[], stats: [] as number[], sdk: [] as number[] };
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
        const got = {} as Record<Kind, { reqS: number; cpuUs: number }>;
        for (const kind of order) {
          got[kind] = await load(byKind[kind], durationS);
          samples[kind].push(got[kind]);
        }
        ctx.log(`round ${round + 1}: ${KINDS.map(kind => `${kind} ${got[kind].reqS.toFixed(0)} req/s ${got[kind].cpuUs.toFixed(0)} us CPU/req`).join(', ')}`);
        ratios.push(got.off.cpuUs / got.on.cpuUs);
        for (const kind of ['on', 'stats', 'sdk'] as const) {
          extra[kind].push(got[kind].cpuUs - got.off.cpuUs);
        }
      }
      const of = (kind: Kind, key: 'reqS' | 'cpuUs') => median(samples[kind].map(sample => sample[key]));
      const [all, stats, sdk] = [median(extra.on), median(extra.stats), median(extra.sdk)];
      return [entry({
        scenario: 'operating', name: 'GET /notes, 100 warm tenants: operating features on (server CPU per request, off/on)',
        baseline: 'the same tenancy with stats: false, no subscriber, no OpenTelemetry SDK',
        ratio: median(ratios), goal: { op: '>=', value: 0.97 }, rounds,
        medians: {
          'on us CPU/req': of('on', 'cpuUs'), 'off us CPU/req': of('off', 'cpuUs'), 'on req/s': of('on', 'reqS'), 'off req/s': of('off', 'reqS'),
          'stats only us CPU/req': of('stats', 'cpuUs'), 'SDK only us CPU/req': of('sdk', 'cpuUs'),
        },
        detail: {
          connections: 10, durationS, tenants: TENANTS, on: 'stats (default window), one subscriber, SDK MeterProvider + TracerProvider (in-memory exporters)',
          remaining: `${all.toFixed(0)} us more server CPU per request with everything on than off (medians of per-round differences; the goal `
            + `allows ${(of('off', 'cpuUs') * (1 / 0.97 - 1)).toFixed(0)} us). Statistics alone (every statement timed, the tenant's counters `
            + `and latency window updated) add ${stats.toFixed(0)} us; the OpenTelemetry SDK alone (a span per request and per statement, `
            + `metrics aggregated) adds ${sdk.toFixed(0)} us; the subscriber and what the two cost together ${(all - stats - sdk).toFixed(0)} us. `
            + (sdk > stats
              ? 'The SDK\'s part is OpenTelemetry\'s own span and metric work per request: an app that samples its traces pays it for the sampled ones only'
              : 'Timing one statement in N, rather than each, would cut the statistics\' part at the price of estimated latencies'),
        },
      })];
    } finally {
      await stopServers(servers);
    }
  },
};

export default scenario;

await serveIfServer((kind, dir) => serve(kind as Kind, dir));

/**
 * Scenario 1: HTTP throughput of `GET /notes` (20 rows) through Koa, driven by autocannon over loopback.
 * Three servers, each in its own process, run the same handler on `ctx.state.em`:
 * - `tenancy`: 100 warm tenants behind `@mikro-tenant/koa`'s `tenantMiddleware` (tenant from `X-Tenant-ID`);
 * - `plain`: one MikroORM database holding one tenant's rows (`RequestContext.create` per request);
 * - `filter`: one database with a `tenant_id` column and a default MikroORM filter, holding all 100 tenants' rows.
 * Autocannon (in this process) cycles every connection through 100 requests, one per tenant, so the
 * tenants are hit round-robin; the plain server gets the same headers and ignores them.
 */
import { join } from 'node:path';
import Koa from 'koa';
import { RequestContext, type EntityManager } from '@mikro-orm/core';
import { fromHeader, tenantMiddleware } from '@mikro-tenant/koa';
import { entry, excessUsPerRequest, median, type Scenario } from './harness.js';
import { TENANTS, listen, loadNotes, serveIfServer, startServer, stopServers, tenantIds, type Server } from './http-servers.js';
import { NOTES_PER_TENANT, makeFilteredNote, makeNote, noteRows, openPlainOrm, openTenancy, seedTenantFiles, createPlainSchema } from './model.js';

type Kind = 'tenancy' | 'plain' | 'filter';
const KINDS: Kind[] = ['tenancy', 'plain', 'filter'];

/** Server side: builds one app over `dir`, listens on a free loopback port and reports it to the parent. */
async function serve(kind: Kind, dir: string): Promise<void> {
  const app = new Koa<{ em?: EntityManager }>();
  let close: () => Promise<void>;
  if (kind === 'tenancy') {
    const Note = makeNote();
    const tenancy = await openTenancy(dir, { entities: [Note], maxOpen: TENANTS });
    await seedTenantFiles(tenancy, TENANTS, async em => {
      noteRows().forEach(row => em.create(Note, row));
      await em.flush();
    });
    app.use(tenantMiddleware(tenancy, { resolve: fromHeader('X-Tenant-ID') }));
    app.use(handler(Note as never));
    close = () => tenancy.close();
  } else {
    const Note = kind === 'plain' ? makeNote() : makeFilteredNote();
    const orm = await openPlainOrm(join(dir, `${kind}.sqlite3`), [Note]);
    await createPlainSchema(orm);
    const em = orm.em.fork();
    for (const tenantId of kind === 'plain' ? ['t0'] : tenantIds) {
      noteRows().forEach(row => em.create(Note as never, (kind === 'plain' ? row : { ...row, tenantId }) as never));
    }
    await em.flush();
    app.use(async (ctx, next) => {
      await RequestContext.create(orm.em, async () => {
        ctx.state.em = RequestContext.getEntityManager()!;
        if (kind === 'filter') {
          ctx.state.em.setFilterParams('tenant', { id: ctx.get('x-tenant-id') });
        }
        await next();
      });
    });
    app.use(handler(Note as never));
    close = () => orm.close(true);
  }
  listen(app, close);
}

/** The handler all three servers share. */
function handler(Note: Parameters<EntityManager['find']>[0]): Koa.Middleware<{ em?: EntityManager }> {
  return async ctx => {
    if (ctx.path !== '/notes') {
      ctx.status = 404;
      return;
    }
    ctx.body = await ctx.state.em!.find(Note, {}, { orderBy: { id: 'asc' }, limit: NOTES_PER_TENANT } as never);
  };
}

/** Requests per second of `server` under the load for `durationS` seconds, or for `amount` requests (a warm-up). */
async function load(server: Server, durationS: number, amount?: number): Promise<number> {
  return (await loadNotes(server, durationS, amount)).requests.average;
}

async function checkBody(server: Server): Promise<void> {
  for (const id of ['t0', 't57']) {
    const response = await fetch(`http://127.0.0.1:${server.port}/notes`, { headers: { 'x-tenant-id': id } });
    const rows = await response.json() as unknown[];
    if (response.status !== 200 || rows.length !== NOTES_PER_TENANT) {
      throw new Error(`${server.kind}: GET /notes answered ${response.status} with ${rows.length} rows`);
    }
  }
}

const scenario: Scenario = {
  name: 'http',
  title: 'HTTP GET /notes (20 rows), 100 warm tenants round-robin vs one plain database',
  async run(ctx) {
    const rounds = ctx.quick ? 1 : 4;
    const durationS = ctx.quick ? 1 : 3;
    const t0 = Date.now();
    const servers = await Promise.all(KINDS.map(kind => startServer(import.meta.url, kind, ctx.dir)));
    ctx.log(`servers up in ${Date.now() - t0} ms`);
    const byKind = Object.fromEntries(servers.map(s => [s.kind, s])) as Record<Kind, Server<Kind>>;
    try {
      for (const server of servers) {
        await checkBody(server);
        await load(server, 1, ctx.quick ? 100 : 3000); // warm-up: JIT, every tenant opened
      }
      const samples: Record<Kind, number[]> = { tenancy: [], plain: [], filter: [] };
      const vsPlain: number[] = [];
      const vsFilter: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Rotate the order each round so no side always runs first or last.
        const order = round % 2 === 0 ? KINDS : [...KINDS].reverse();
        const got = {} as Record<Kind, number>;
        for (const kind of order) {
          got[kind] = await load(byKind[kind], durationS);
          samples[kind].push(got[kind]);
        }
        ctx.log(`round ${round + 1}: ${KINDS.map(k => `${k} ${got[k].toFixed(0)} req/s`).join(', ')}`);
        vsPlain.push(got.tenancy / got.plain);
        vsFilter.push(got.tenancy / got.filter);
      }
      const medians = {
        'tenancy req/s': median(samples.tenancy), 'plain req/s': median(samples.plain), 'filter req/s': median(samples.filter),
      };
      const detail = { connections: 10, durationS, tenants: TENANTS, middleware: '@mikro-tenant/koa tenantMiddleware + fromHeader' };
      const remaining = (ratios: number[], baseline: number) => `${excessUsPerRequest(median(ratios), 0.95, baseline).toFixed(1)} us `
        + 'of server time per request (at the measured throughput). It is the tenant middleware\'s own work per request (the id from '
        + 'the header, run(): a lease of the open tenant, a fork, the tenant scope and a request context for the shared ORM; see warm-em) '
        + 'and the scheduling of three servers and the load generator on 2 shared cores; fewer allocations per run() would remove it';
      return [
        entry({
          scenario: 'http', name: 'GET /notes, 100 warm tenants: throughput', baseline: 'one plain MikroORM database (one tenant\'s rows)',
          ratio: median(vsPlain), goal: { op: '>=', value: 0.95 }, rounds, medians, detail: { ...detail, remaining: remaining(vsPlain, medians['plain req/s']) },
        }),
        entry({
          scenario: 'http', name: 'GET /notes, 100 warm tenants: throughput vs filter', baseline: 'one database, tenant_id column + MikroORM filter (100 tenants\' rows)',
          ratio: median(vsFilter), goal: { op: '>=', value: 0.95 }, rounds, medians, detail: { ...detail, remaining: remaining(vsFilter, medians['filter req/s']) },
        }),
      ];
    } finally {
      await stopServers(servers);
    }
  },
};

export default scenario;

await serveIfServer((kind, dir) => serve(kind as Kind, dir));

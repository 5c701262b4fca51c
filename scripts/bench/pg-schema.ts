/**
 * Scenario: the PostgreSQL schema strategy (`@mikro-tenant/postgresql`), on the server `MIKRO_TENANT_PG_URL`
 * names or an embedded one (test/postgres/server.ts). Rows: the same handler through 100 warm tenants
 * against one plain PostgreSQL schema; a new tenant against the floor of running its squashed script by
 * hand; 20 migrations against 1 (ending in the same one table); provisioning and migrating one tenant
 * among 1,000 schemas against among 10.
 */
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { schemaGenerator } from '../../test/orm-packages.js';
import { createTestDatabase, type TestDatabase } from '../../test/postgres/helpers.js';
import { stopPgServer } from '../../test/postgres/server.js';
import { alternate, entry, excessUsPerRequest, median, nowUs, processCpuUs, processesCpuUs, type BenchEntry, type Scenario } from './harness.js';
import { NOTES_PER_TENANT, QUIET, makeNote, noteRows } from './model.js';

/** SQL of migration `i`: the first creates the note table, each later one adds a nullable column to it. */
function columnMigration(i: number): string {
  return i === 0
    ? 'create table "note" ("id" serial primary key, "title" varchar(255) not null, "body" text not null, "done" boolean not null, "created_at" timestamptz not null)'
    : `alter table "note" add column "extra_${i}" int null`;
}

function migrations(count: number, first = 0): { name: string; class: new (...args: any[]) => Migration }[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return {
      name: `Migration${String(i + 1).padStart(4, '0')}`,
      class: class extends Migration {
        override async up(): Promise<void> {
          this.addSql(columnMigration(i));
        }
      },
    };
  });
}

async function openTenancy(db: TestDatabase, migrationCount: number, first = 0): Promise<PostgresSchemaTenancy> {
  const tenancy = await PostgresSchemaTenancy.init({
    ...QUIET, clientUrl: db.url, entities: [makeNote()], pool: { min: 8, max: 8 },
    tenancy: { entities: ['Note'], migrations: { migrationsList: migrations(migrationCount, first) }, maxOpen: 100_000, warn: () => undefined },
  } as never);
  await schemaGenerator(tenancy.orm.schema).update();
  return tenancy;
}

/** Calls `fn` `total` times, `concurrency` at a time; returns calls per second. */
async function throughput(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = nowUs();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      await fn(next++);
    }
  }));
  return total / ((nowUs() - t0) / 1e6);
}

/**
 * Words the CPU gap between the tenant and plain sides (both processes, per request) as its two parts, which
 * add up to it: the search_path changes (many tenants minus one tenant) and the tenant's own path (one tenant
 * minus plain). A part below zero is noise (10 ms ticks), said as such rather than counted.
 */
function splitGap(gapUs: number, setPathUs: number): string {
  const pathUs = gapUs - setPathUs;
  const ticks = '(both processes, 10 ms ticks over each side)';
  if (gapUs <= 0) {
    return `The tenant side used no more CPU per request than the plain side ${ticks}: the gap is time waiting for the cores, not work.`;
  }
  if (pathUs <= 0) {
    return `The search_path sent with a statement whose connection last served another tenant accounts for the whole ${gapUs.toFixed(0)} us `
      + `of CPU the tenant side used more per request ${ticks}; the one-tenant side used ${(-pathUs).toFixed(0)} us less than plain, within the noise.`;
  }
  if (setPathUs <= 0) {
    return `The tenant's path from run() to the statement accounts for the whole ${gapUs.toFixed(0)} us of CPU the tenant side used more per request `
      + `${ticks}; changing the search_path cost nothing measurable (${setPathUs.toFixed(0)} us, within the noise).`;
  }
  return `Of the ${gapUs.toFixed(0)} us of CPU the tenant side used more per request ${ticks}, ${setPathUs.toFixed(0)} us `
    + `(${Math.round((setPathUs / gapUs) * 100)}%) are the search_path sent with a statement whose connection last served another tenant and `
    + `${pathUs.toFixed(0)} us the tenant's path from run() to the statement.`;
}

const scenario: Scenario = {
  name: 'pg-schema',
  title: 'PostgreSQL schema per tenant: warm requests, new tenants, 1,000 schemas',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 8;
    const databases: TestDatabase[] = [];
    const tenancies: PostgresSchemaTenancy[] = [];
    const database = async (label: string) => {
      const db = await createTestDatabase(label);
      databases.push(db);
      return db;
    };
    const out: BenchEntry[] = [];
    try {
      // 1. Warm requests: list a tenant's notes, through 100 tenants against one plain schema.
      const warm = await openTenancy(await database('warm'), 1);
      tenancies.push(warm);
      const tenants = Array.from({ length: 100 }, (_, i) => `w${i}`);
      for (const id of tenants) {
        await warm.run(id, async em => { await em.insertMany('Note', noteRows()); });
      }
      const plainDb = await database('plain');
      const plain = await MikroORM.init({ ...QUIET, driver: PostgreSqlDriver, clientUrl: plainDb.url, entities: [makeNote()], pool: { min: 8, max: 8 } } as Options<PostgreSqlDriver>);
      try {
        await schemaGenerator(plain.schema).create();
        await plain.em.fork().insertMany('Note', noteRows());
        const requests = ctx.quick ? 300 : 3000;
        const list = { limit: NOTES_PER_TENANT, orderBy: { id: 'asc' } } as const;
        // CPU per request of each side: this process (MikroORM, the library, pg) and the server's backends.
        const cpu: Record<string, { node: number[]; server: number[] }> = {};
        const side = (name: string, fn: (i: number) => Promise<unknown>) => async () => {
          const node0 = processCpuUs();
          const server0 = processesCpuUs('postgres');
          const rate = await throughput(requests, 8, fn);
          const sample = (cpu[name] ??= { node: [], server: [] });
          sample.node.push((processCpuUs() - node0) / requests);
          sample.server.push((processesCpuUs('postgres') - server0) / requests);
          return rate;
        };
        const viaTenants = side('tenants', i => warm.run(tenants[(i * 7919) % tenants.length]!, em => em.find('Note', {}, list), { sharedContext: false }));
        const viaPlain = side('plain', () => plain.em.fork().find('Note', {}, list));
        // One tenant only: its connections keep its search_path, so no statement changes it.
        const viaOne = side('one tenant', () => warm.run(tenants[0]!, em => em.find('Note', {}, list), { sharedContext: false }));
        // Warm-up (not measured): the first side run would otherwise carry the JIT's work.
        for (const fn of [viaTenants, viaPlain, viaOne]) {
          await fn();
        }
        for (const sample of Object.values(cpu)) {
          sample.node.length = 0;
          sample.server.length = 0;
        }
        const measured = await alternate(rounds, viaTenants, viaPlain);
        const single = await alternate(Math.max(3, rounds >> 1), viaOne, viaPlain);
        const us = (name: string, what: 'node' | 'server') => Math.round(median(cpu[name]![what]) * 10) / 10;
        const ratio = median(measured.ratios);
        const total = (name: string) => us(name, 'node') + us(name, 'server');
        const gapUs = total('tenants') - total('plain');
        const setPathUs = total('tenants') - total('one tenant');
        out.push(entry({
          scenario: 'pg-schema', name: 'requests through 100 warm tenant schemas', baseline: 'the same handler on one plain schema',
          ratio, goal: { op: '>=', value: 0.95 }, rounds,
          medians: {
            'tenants req/s': median(measured.a), 'plain req/s': median(measured.b), 'one tenant / plain': median(single.ratios),
            'tenants node CPU us/req': us('tenants', 'node'), 'tenants server CPU us/req': us('tenants', 'server'),
            'one tenant node CPU us/req': us('one tenant', 'node'), 'one tenant server CPU us/req': us('one tenant', 'server'),
            'plain node CPU us/req': us('plain', 'node'), 'plain server CPU us/req': us('plain', 'server'),
          },
          detail: {
            note: 'each request is tenancy.run(id, em => em.find(Note, {}, { limit: 20 })) on a tenant picked in turn among 100, 8 at a time over a pool of 8 '
              + 'connections; the plain side forks orm.em and runs the same find. CPU per request is this process\'s (process.cpuUsage) and the '
              + 'PostgreSQL backends\' (/proc, 10 ms ticks over the whole side); "one tenant" sends every request to the same tenant, so no statement '
              + 'changes a connection\'s search_path',
            remaining: `${excessUsPerRequest(ratio, 0.95, median(measured.b)).toFixed(1)} us per request beyond the goal. Per request the tenant side `
              + `used ${(us('tenants', 'node') - us('plain', 'node')).toFixed(0)} us more CPU in this process and ${(us('tenants', 'server') - us('plain', 'server')).toFixed(0)} us `
              + `more in the server than the plain side; sending every request to one tenant (no statement changes a connection's search_path) `
              + `used ${(us('one tenant', 'node') - us('plain', 'node')).toFixed(0)} us and ${(us('one tenant', 'server') - us('plain', 'server')).toFixed(0)} us more, `
              + `for a ratio of ${median(single.ratios).toFixed(3)}. ${splitGap(gapUs, setPathUs)} The tenant's path from run() to the statement is `
              + 'the lease and tenant scope (a few us: see warm-em), the fork of the tenant EntityManager (the SQLite strategy\'s cheap fork: the '
              + 'tenant label copied, the configuration not written), the tenant configuration read through its prototype chain, and the '
              + 'query-builder view and statement wrapper that give the shared pool\'s connections the tenant\'s path. A search_path change '
              + 'travels in the round trip of the statement it precedes (`set search_path to ...; <statement>`, one simple query) on both '
              + 'majors; a statement with bound values, a cursor or a BEGIN gets it in a round trip of its own',
          },
        }));
      } finally {
        await plain.close(true);
      }

      // 2. A new tenant against the floor: its squashed script run by hand on a fresh schema name.
      let serial = 0;
      const createOne = (tenancy: PostgresSchemaTenancy, perSample: number) => async () => {
        const t0 = nowUs();
        for (let i = 0; i < perSample; i++) {
          await tenancy.createTenant(`n${serial++}`);
        }
        return (nowUs() - t0) / perSample;
      };
      const perSample = ctx.quick ? 3 : 10;
      const one = await openTenancy(await database('one'), 1);
      const twenty = await openTenancy(await database('twenty'), 20);
      tenancies.push(one, twenty);
      await createOne(one, 1)();
      await createOne(twenty, 1)();
      const template = await one.schema.template();
      /** The tenancy's squashed script run by hand on fresh schema names: what PostgreSQL itself takes. */
      const floorOf = (tenancy: PostgresSchemaTenancy, script: Awaited<ReturnType<PostgresSchemaTenancy['schema']['template']>>) => async () => {
        const t0 = nowUs();
        for (let i = 0; i < perSample; i++) {
          const schema = `floor_${serial++}`;
          await tenancy.orm.em.getConnection().execute(`create schema "${schema}";\nset local search_path to "${schema}", "public";\n${script.build(schema)}`, [], 'run');
        }
        return (nowUs() - t0) / perSample;
      };
      const floor = floorOf(one, template);
      const vsFloor = await alternate(rounds, createOne(one, perSample), floor);
      out.push(entry({
        scenario: 'pg-schema', name: 'new tenant schema (1 migration)', baseline: 'its squashed script run by hand',
        ratio: median(vsFloor.ratios), goal: { op: '<=', value: 1.5 }, rounds,
        medians: { 'createTenant us': median(vsFloor.a), 'script us': median(vsFloor.b) },
      }));
      const flat = await alternate(rounds, createOne(twenty, perSample), createOne(one, perSample));
      // The same two scripts run by hand: how much of the difference is PostgreSQL's own.
      const flatFloor = await alternate(rounds, floorOf(twenty, await twenty.schema.template()), floor);
      const flatRatio = median(flat.ratios);
      out.push(entry({
        scenario: 'pg-schema', name: 'new tenant schema, 20 migrations', baseline: '1 migration (same final table)',
        ratio: flatRatio, goal: { op: '<=', value: 1.25 }, rounds,
        medians: {
          '20 migrations us': median(flat.a), '1 migration us': median(flat.b),
          '20 migrations script by hand us': median(flatFloor.a), '1 migration script by hand us': median(flatFloor.b),
        },
        detail: {
          note: 'the 20 migrations create the note table and add 19 columns to it; each tenant replays the squashed script (its DDL and 20 '
            + 'rows of the migrations table) in one transaction. "script by hand" runs the same scripts on fresh schema names, without the library',
          remaining: `${((flatRatio - 1.25) * median(flat.b)).toFixed(0)} us per tenant beyond the goal. Run by hand, the 20-migration script `
            + `takes ${(median(flatFloor.a) - median(flatFloor.b)).toFixed(0)} us more than the 1-migration one (ratio `
            + `${median(flatFloor.ratios).toFixed(3)}): PostgreSQL's own work for 19 ALTER TABLEs and 19 more rows; the library adds `
            + `${(median(flat.a) - median(flat.b) - (median(flatFloor.a) - median(flatFloor.b))).toFixed(0)} us. A template that records the `
            + 'final tables (one CREATE TABLE from the entities or a dump of a migrated schema) rather than the migrations\' statements would '
            + 'remove PostgreSQL\'s part, at the price of replaying something other than what the migrations ran',
        },
      }));

      // 3. Provisioning and migrating one tenant among 1,000 schemas against among 10.
      const crowd = ctx.quick ? 100 : 1000;
      const small = await openTenancy(await database('small'), 1);
      const large = await openTenancy(await database('large'), 1);
      tenancies.push(small, large);
      for (let i = 0; i < 10; i++) {
        await small.createTenant(`bg${i}`);
      }
      for (let i = 0; i < crowd; i++) {
        await large.createTenant(`bg${i}`);
      }
      ctx.log(`${crowd} schemas made`);
      const provisioned = await alternate(rounds, createOne(large, perSample), createOne(small, perSample));
      out.push(entry({
        scenario: 'pg-schema', name: `new tenant schema among ${crowd} schemas`, baseline: 'among 10 schemas',
        ratio: median(provisioned.ratios), goal: { op: '<=', value: 1.5 }, rounds,
        medians: { [`${crowd} schemas us`]: median(provisioned.a), '10 schemas us': median(provisioned.b) },
      }));
      // Migrating: tenants made at version 1 are brought to version 2 by a tenancy that knows both migrations.
      const [smallNext, largeNext] = await Promise.all([small, large].map(async t => {
        const next = await PostgresSchemaTenancy.init({
          ...QUIET, clientUrl: t.orm.config.get('clientUrl'), entities: [makeNote()], pool: { min: 8, max: 8 },
          tenancy: { entities: ['Note'], migrations: { migrationsList: migrations(2) }, maxOpen: 100_000, warn: () => undefined },
        } as never);
        tenancies.push(next);
        return next;
      }));
      const migrateSample = (old: PostgresSchemaTenancy, next: PostgresSchemaTenancy) => async () => {
        const ids = Array.from({ length: perSample }, () => `m${serial++}`);
        for (const id of ids) {
          await old.createTenant(id);
        }
        const t0 = nowUs();
        for (const id of ids) {
          await next.migrateTenant(id);
        }
        const us = (nowUs() - t0) / perSample;
        for (const id of ids) {
          await next.deleteTenant(id);
        }
        return us;
      };
      const migrated = await alternate(rounds, migrateSample(large, largeNext!), migrateSample(small, smallNext!));
      out.push(entry({
        scenario: 'pg-schema', name: `migrating a tenant among ${crowd} schemas`, baseline: 'among 10 schemas',
        ratio: median(migrated.ratios), goal: { op: '<=', value: 1.5 }, rounds,
        medians: { [`${crowd} schemas us`]: median(migrated.a), '10 schemas us': median(migrated.b) },
      }));
      return out;
    } finally {
      for (const tenancy of tenancies) {
        await tenancy.close();
      }
      for (const db of databases) {
        await db.drop();
      }
      await stopPgServer();
    }
  },
};

export default scenario;

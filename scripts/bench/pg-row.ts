/**
 * Scenario: the row strategy (`@mikro-tenant/row`) on PostgreSQL, on the server `MIKRO_TENANT_PG_URL` names
 * or an embedded one (test/postgres/server.ts). One `note` table holds 100 tenants' notes. Rows: listing a
 * tenant's notes through `run()` with the ORM-level guard and row level security (as an app role RLS binds)
 * against the same handler in plain MikroORM with neither (the tenant named in the `where` by hand, on an
 * identical table without policies); the same with the guard alone (the cost of RLS); and reads outside a
 * transaction, the tenant set in the statement's own round trip, against the same reads each in a
 * transaction begun with the setting (the two ways to tell PostgreSQL the tenant).
 */
import { MikroORM, type Options } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { RowTenancy } from '@mikro-tenant/row';
import { createTestDatabase, type TestDatabase } from '../../test/postgres/helpers.js';
import { stopPgServer } from '../../test/postgres/server.js';
import { schemaGenerator } from '../../test/orm-packages.js';
import { createAppRole } from '../../test/row/helpers.js';
import { alternate, entry, median, nowUs, type BenchEntry, type Scenario } from './harness.js';
import { NOTES_PER_TENANT, QUIET, makeNote, noteRows } from './model.js';

const TENANTS = Array.from({ length: 100 }, (_, i) => `w${i}`);
const LIST = { limit: NOTES_PER_TENANT, orderBy: { id: 'asc' } } as const;

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

/** The note entity of the row tenancies and, apart (its discovery adds the column by hand), of plain MikroORM: entities, not names (MikroORM 7 looks entities up by class). */
const ROW_NOTE = makeNote();
const PLAIN_NOTE = makeNote();

async function openRow(url: string, rowLevelSecurity: boolean): Promise<RowTenancy> {
  return RowTenancy.init({
    ...QUIET, driver: PostgreSqlDriver, clientUrl: url, entities: [ROW_NOTE], pool: { min: 8, max: 8 },
    tenancy: { entities: [ROW_NOTE], rowLevelSecurity, maxOpen: 100_000, warn: () => undefined },
  } as never);
}

const tenantOf = (i: number) => TENANTS[(i * 7919) % TENANTS.length]!;

const scenario: Scenario = {
  name: 'pg-row',
  title: 'PostgreSQL shared tables with a tenant column: the cost of the guard and of row level security',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 6;
    const requests = ctx.quick ? 300 : 1000;
    const databases: TestDatabase[] = [];
    const closers: (() => Promise<unknown>)[] = [];
    let dropRole: (() => Promise<void>) | undefined;
    const out: BenchEntry[] = [];
    try {
      const db = await createTestDatabase('row');
      databases.push(db);
      const role = await createAppRole(db);
      dropRole = () => role.drop();
      const rls = await openRow(role.url, true);
      closers.unshift(() => rls.close());
      await schemaGenerator(rls.orm.schema).update();
      await rls.applyRowSecurity();
      for (const id of TENANTS) {
        await rls.run(id, async em => { await em.insertMany(ROW_NOTE, noteRows() as never); });
      }
      const guardOnly = await openRow(role.url.replace(/:\/\/[^@]+@/, '://postgres:postgres@'), false);
      closers.unshift(() => guardOnly.close());

      // The same table and rows in a database without policies, for plain MikroORM.
      const plainDb = await createTestDatabase('rowplain');
      databases.push(plainDb);
      const plain = await MikroORM.init({ ...QUIET, driver: PostgreSqlDriver, clientUrl: plainDb.url, entities: [PLAIN_NOTE], pool: { min: 8, max: 8 },
        discovery: { onMetadata: meta => { if (meta.className === 'Note') { meta.addProperty({ name: 'tenantId', kind: 'scalar', type: 'string', runtimeType: 'string', length: 64, index: true } as never, false); } } },
      } as Options<PostgreSqlDriver>);
      closers.unshift(() => plain.close(true));
      await schemaGenerator(plain.schema).create();
      for (const id of TENANTS) {
        await plain.em.fork().insertMany(PLAIN_NOTE, noteRows().map(row => ({ ...row, tenantId: id })) as never);
      }

      const guarded = await alternate(rounds,
        () => throughput(requests, 8, i => rls.run(tenantOf(i), em => em.find(ROW_NOTE, {}, LIST), { sharedContext: false })),
        () => throughput(requests, 8, i => plain.em.fork().find(PLAIN_NOTE, { tenantId: tenantOf(i) } as never, LIST as never)));
      out.push(entry({
        scenario: 'pg-row', name: 'requests through 100 tenants, guard and row level security', baseline: 'the same handler in plain MikroORM, tenant in the where by hand',
        detail: { note: "both sides list one tenant's 20 notes out of 2,000 in one `note` table. Ours: run() + the guard's tenant condition + row level security (set_config in the statement's round trip, the policy checked), connected as an app role; plain: a MikroORM fork and find with `tenantId` in the where, on a database without policies. the goal is that ours is not below 0.8" },
        ratio: median(guarded.ratios), goal: { op: '>=', value: 0.8 }, rounds,
        medians: { 'row tenancy req/s': median(guarded.a), 'plain req/s': median(guarded.b) },
      }));

      const rlsCost = await alternate(rounds,
        () => throughput(requests, 8, i => rls.run(tenantOf(i), em => em.find(ROW_NOTE, {}, LIST), { sharedContext: false })),
        () => throughput(requests, 8, i => guardOnly.run(tenantOf(i), em => em.find(ROW_NOTE, {}, LIST), { sharedContext: false })));
      out.push(entry({
        scenario: 'pg-row', name: 'requests through 100 tenants, guard and row level security, vs the guard alone', baseline: 'the guard alone (no policy, no setting)',
        detail: { note: "the same tenancy code with `rowLevelSecurity: false`, connected as the superuser (no policy applies, no setting is sent)" },
        ratio: median(rlsCost.ratios), goal: { op: '>=', value: 0.8 }, rounds,
        medians: { 'with RLS req/s': median(rlsCost.a), 'guard only req/s': median(rlsCost.b) },
      }));

      const perStatement = await alternate(rounds,
        () => throughput(requests, 8, i => rls.run(tenantOf(i), em => em.find(ROW_NOTE, {}, LIST), { sharedContext: false })),
        () => throughput(requests, 8, i => rls.run(tenantOf(i), em => em.transactional(tx => tx.find(ROW_NOTE, {}, LIST)), { sharedContext: false })));
      out.push(entry({
        scenario: 'pg-row', name: 'a read outside a transaction, tenant set in its own round trip', baseline: 'the read in a transaction begun with the setting',
        detail: { note: "a read in a transaction of its own costs BEGIN, set_config, the select and COMMIT (four round trips) against one round trip carrying `select set_config(...); select ...`: why the setting goes with the statement outside transactions" },
        ratio: median(perStatement.ratios), goal: { op: '>=', value: 1 }, rounds,
        medians: { 'per statement req/s': median(perStatement.a), 'in a transaction req/s': median(perStatement.b) },
      }));
      ctx.log(out.map(e => `${e.name} vs ${e.baseline}: ${e.ratio}`).join('\n'));
    } finally {
      for (const close of closers) {
        await close();
      }
      for (const db of databases) {
        await db.drop();
      }
      await dropRole?.();
      await stopPgServer();
    }
    return out;
  },
};

export default scenario;

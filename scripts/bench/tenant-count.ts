/**
 * Scenario: does anything grow with the number of tenants? Two tenancies side by side, one with 100,000
 * existing tenants and one with 100, each measured on the same operations: `createTenant`, the cold open
 * of an existing tenant (`run(id, em => em.count(...))` on a tenant the pool does not hold), one page of
 * `listTenants` and `reconcile` (per tenant: it compares the whole registry with the whole folder).
 *
 * The 100,000 tenants are cheap to build: hard links to one template copy (one inode, no data copied)
 * and one transaction of registry inserts with better-sqlite3 while the tenancy is closed. The linked
 * files are only listed and stat'ed, never opened (SQLite must not open two names of one file): the
 * tenants that are opened are real copies.
 */
import { copyFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { alternate, entry, excessTime, median, nowUs, type Alternated, type Scenario } from './harness.js';
import { makeNote, openTenancy } from './model.js';

const MAX_OPEN = 20;
/** Real copies opened in turn by the cold-open measure: more than MAX_OPEN, so every open is cold. */
const COLD_SET = 50;
const PAGE = 50;

const scenario: Scenario = {
  name: 'tenant-count',
  title: 'create, cold open, listTenants page and reconcile at 100,000 tenants vs at 100',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 10;
    const perSample = ctx.quick ? 5 : 20;
    const many = ctx.quick ? 5_000 : 100_000;
    const few = 100;
    const Note = makeNote();
    const build = async (name: string, count: number): Promise<SqliteTenancy> => {
      const dir = join(ctx.dir, name);
      const t0 = nowUs();
      const first = await openTenancy(dir, { entities: [Note] });
      await first.createTenant('seed');
      const { schemaVersion } = (await first.registry.get('seed'))!;
      const master = join(dir, 'master.sqlite3');
      copyFileSync(first.files.path('seed'), master);
      await first.deleteTenant('seed');
      const files = first.files;
      await first.close();
      const ids = Array.from({ length: count }, (_, i) => `x${String(i).padStart(6, '0')}`);
      const cold = ids.filter((_, i) => i % Math.floor(count / COLD_SET) === 0).slice(0, COLD_SET);
      const coldSet = new Set(cold);
      for (const id of ids) {
        (coldSet.has(id) ? copyFileSync : linkSync)(master, files.path(id));
      }
      const db = new Database(join(dir, 'shared.sqlite3'));
      const insert = db.prepare('insert into mikro_tenant_registry (tenant_id, location, created_at, schema_version) values (?, ?, ?, ?)');
      const now = Date.now();
      db.transaction(() => ids.forEach(id => insert.run(id, files.fileName(id), now, schemaVersion)))();
      db.close();
      const tenancy = await openTenancy(dir, { entities: [Note], maxOpen: MAX_OPEN });
      await tenancy.buildTemplate();
      coldIds.set(tenancy, cold);
      allIds.set(tenancy, ids);
      ctx.log(`${count} tenants built in ${((nowUs() - t0) / 1000).toFixed(0)} ms`);
      return tenancy;
    };
    const coldIds = new Map<SqliteTenancy, string[]>();
    const allIds = new Map<SqliteTenancy, string[]>();
    const big = await build('many', many);
    const small = await build('few', few);
    let serial = 0;
    const created: [SqliteTenancy, string][] = [];
    const create = (tenancy: SqliteTenancy) => async () => {
      const ids = Array.from({ length: perSample }, () => `n${serial++}`);
      const t0 = nowUs();
      for (const id of ids) {
        await tenancy.createTenant(id);
      }
      const us = (nowUs() - t0) / perSample;
      ids.forEach(id => created.push([tenancy, id]));
      return us;
    };
    // New tenants are removed after each round, so both sides stay at their count.
    const removeCreated = async () => {
      for (const [tenancy, id] of created.splice(0)) {
        await tenancy.deleteTenant(id);
      }
    };
    const cursor = new Map<SqliteTenancy, number>();
    const coldOpen = (tenancy: SqliteTenancy) => async () => {
      const ids = coldIds.get(tenancy)!;
      let next = cursor.get(tenancy) ?? 0;
      const t0 = nowUs();
      for (let i = 0; i < perSample; i++) {
        await tenancy.run(ids[next++ % ids.length]!, em => em.count(Note));
      }
      cursor.set(tenancy, next);
      return (nowUs() - t0) / perSample;
    };
    // A page starting at a random registered tenant, as an admin paging through the list reads it.
    const listPage = (tenancy: SqliteTenancy) => async () => {
      const ids = allIds.get(tenancy)!;
      const after = ids[Math.floor(Math.random() * (ids.length - PAGE))]!;
      const t0 = nowUs();
      const rows = await tenancy.listTenants({ after, limit: PAGE });
      const us = nowUs() - t0;
      if (rows.length !== PAGE) {
        throw new Error(`listTenants: ${rows.length} rows`);
      }
      return us;
    };
    const reconcilePerTenant = (tenancy: SqliteTenancy) => async () => {
      const t0 = nowUs();
      const report = await tenancy.reconcile();
      const us = nowUs() - t0;
      if (report.missingFiles.length || report.unregistered.length) {
        throw new Error(`reconcile found ${report.missingFiles.length} missing files, ${report.unregistered.length} unregistered`);
      }
      return us / allIds.get(tenancy)!.length;
    };
    try {
      // Warm-up of every path on both sides.
      for (const tenancy of [big, small]) {
        await create(tenancy)();
        await coldOpen(tenancy)();
        await listPage(tenancy)();
        await reconcilePerTenant(tenancy)();
      }
      await removeCreated();
      const measured: Record<string, Alternated> = {};
      measured.create = await alternate(rounds, create(big), create(small), removeCreated);
      measured.cold = await alternate(rounds, coldOpen(big), coldOpen(small));
      measured.list = await alternate(rounds, listPage(big), listPage(small));
      measured.reconcile = await alternate(ctx.quick ? 2 : 5, reconcilePerTenant(big), reconcilePerTenant(small));
      const label = many.toLocaleString('en-US');
      const row = (key: string, name: string, unit: string, note: string) => entry({
        scenario: 'tenant-count', name: `${name} at ${label} tenants`, baseline: `the same at ${few} tenants`,
        ratio: median(measured[key]!.ratios), goal: { op: '<=', value: 1.5 }, rounds: measured[key]!.ratios.length,
        medians: { [`${label} tenants ${unit}`]: median(measured[key]!.a), [`${few} tenants ${unit}`]: median(measured[key]!.b) },
        detail: {
          perSample, note,
          remaining: `${excessTime(median(measured[key]!.ratios), 1.5, median(measured[key]!.b)).toFixed(1)} ${unit} beyond the goal, `
            + 'which nothing in this operation grows with the number of tenants (no folder scan, no whole-registry read): the file system\'s '
            + 'directory of that size and the registry table\'s index depth, on a machine shared with other work',
        },
      });
      return [
        row('create', 'createTenant', 'us', 'createTenant from the template (hard link of a spare copy, registry row written), new ids; removed again after each round'),
        row('cold', 'cold open + count()', 'us', `run(id, em => em.count()) on existing tenants in turn, ${COLD_SET} of them and maxOpen ${MAX_OPEN}: every open is cold and evicts another`),
        row('list', `listTenants page of ${PAGE}`, 'us', `listTenants({ after, limit: ${PAGE} }) from a random tenant: a range of the registry's primary key and a stat of each tenant's file and -wal`),
        row('reconcile', 'reconcile, per tenant', 'us/tenant',
          'reconcile() reads the whole registry and the whole folder by its nature: its time per tenant must stay flat'),
      ];
    } finally {
      await big.close();
      await small.close();
    }
  },
};

export default scenario;

/**
 * Scenario 5: churn. 10,000 tenants (file copies of a seeded one), `maxOpen` 100, uniform random access:
 * almost every request opens a tenant and evicts (closes) another. Compared with SQLite's own ceiling for
 * that pattern: the warm case (100 tenants that all fit in the pool) measured in the same round, plus per
 * request what raw better-sqlite3 spends opening a file, running the same pragmas and select, and closing
 * the least recently opened of 100 handles. Each request is `run(id, em => em.find(Note, {}, { limit: 20 }))`,
 * 8 in flight. Open file descriptors and RSS are reported at the end (they must stay bounded).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pragmaStatements, type SqliteTenancy } from '@mikro-tenant/sqlite';
import { MiB, alternate, entry, excessUsPerRequest, median, nowUs, openFds, type Scenario } from './harness.js';
import { NOTES_PER_TENANT, makeNote, noteRows, openTenancy, seedTenantFiles } from './model.js';

const scenario: Scenario = {
  name: 'churn',
  title: '10,000 tenants, maxOpen 100, uniform random access vs 100 warm tenants',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 10;
    const requests = ctx.quick ? 200 : 1500;
    const inFlight = 8;
    const total = ctx.quick ? 1000 : 10_000;
    const Note = makeNote();
    const seed = async (em: any) => {
      noteRows().forEach(row => em.create(Note, row));
      await em.flush();
    };
    const warm = await openTenancy(join(ctx.dir, 'warm'), { entities: [Note], maxOpen: 100 });
    const churn = await openTenancy(join(ctx.dir, 'churn'), { entities: [Note], maxOpen: 100 });
    const rawHandles: Database.Database[] = [];
    const fdsAtStart = openFds();
    const rssAtStart = process.memoryUsage().rss;
    try {
      const warmIds = await seedTenantFiles(warm, 100, seed);
      const t0 = nowUs();
      const churnIds = await seedTenantFiles(churn, 1, seed);
      const source = churn.files.path(churnIds[0]!);
      for (let i = 1; i < total; i++) {
        churnIds.push(`t${i}`);
        copyFileSync(source, churn.files.path(`t${i}`));
      }
      ctx.log(`created ${total} tenant files in ${((nowUs() - t0) / 1000).toFixed(0)} ms`);
      const load = (tenancy: SqliteTenancy, ids: string[]) => async () => {
        let next = 0;
        const t = nowUs();
        await Promise.all(Array.from({ length: inFlight }, async () => {
          while (next < requests) {
            next++;
            const id = ids[Math.floor(Math.random() * ids.length)]!;
            const rows = await tenancy.run(id, em => em.find(Note, {}, { limit: NOTES_PER_TENANT }));
            if (rows.length !== NOTES_PER_TENANT) {
              throw new Error(`tenant ${id}: ${rows.length} rows`);
            }
          }
        }));
        return requests / ((nowUs() - t) / 1e6);
      };
      for (const id of warmIds) {
        await warm.run(id, em => em.count(Note));
      }
      await load(warm, warmIds)();
      await load(churn, churnIds)();
      // SQLite's own price of a churn request, kept like the pool keeps them: open + the same pragmas (one
      // script, as the library runs them) + the same select, and close of the least recently opened of 100.
      const pragmaScript = pragmaStatements().map(statement => `${statement};`).join('\n');
      const rawOpenClose = () => {
        const n = Math.min(requests, 500);
        const t = nowUs();
        for (let i = 0; i < n; i++) {
          const db = new Database(churn.files.path(churnIds[Math.floor(Math.random() * churnIds.length)]!), { fileMustExist: true });
          db.exec(pragmaScript);
          db.prepare(`select * from \`note\` limit ${NOTES_PER_TENANT}`).all();
          rawHandles.push(db);
          if (rawHandles.length > 100) {
            rawHandles.shift()!.close();
          }
        }
        return (nowUs() - t) / n;
      };
      const raw: number[] = [];
      const measured = await alternate(rounds, load(churn, churnIds), load(warm, warmIds), async () => { raw.push(rawOpenClose()); });
      rawHandles.splice(0).forEach(db => db.close()); // before counting the process's fds
      // SQLite's ceiling per round: a warm request plus SQLite's own open/pragmas/select/close of that round.
      const ceilings = measured.b.map((warmReqS, i) => 1e6 / (1e6 / warmReqS + raw[i]!));
      const ceiling = median(ceilings.map((c, i) => c / measured.b[i]!));
      const churnVsCeiling = median(measured.a.map((churnReqS, i) => churnReqS / ceilings[i]!));
      const stats = churn.stats();
      const fds = openFds();
      const rss = process.memoryUsage().rss;
      return [
        entry({
          scenario: 'churn', name: '10,000 tenants, maxOpen 100, random access: throughput',
          baseline: 'SQLite\'s ceiling: 100 warm tenants\' throughput with raw better-sqlite3 open + pragmas + select + LRU close added per request',
          ratio: churnVsCeiling, goal: { op: '>=', value: 0.9 }, rounds,
          medians: {
            'churn req/s': median(measured.a), 'ceiling req/s': median(ceilings), 'warm req/s': median(measured.b),
            'churn/warm': median(measured.ratios), 'raw LRU open+pragmas+select+close us': median(raw),
            'open fds at end': fds, 'RSS at end MiB': rss / MiB,
          },
          detail: {
            remaining: `${excessUsPerRequest(churnVsCeiling, 0.9, median(ceilings)).toFixed(1)} us per request beyond the goal: `
              + 'each churn request builds the tenant\'s driver, connection and EntityManager (the query-builder client on MikroORM 6 is a '
              + 'prototype child of one per process) on top of SQLite\'s open, pragmas, ATTACH of the shared database and close (the raw '
              + 'figure attaches nothing), and runs its first MikroORM query on cold caches right after them; see cold-open for what is left',
            requests, inFlight, tenants: total, openTenants: stats.open, opened: stats.opened,
            fdsAtStart, rssAtStartMiB: rssAtStart / MiB, sqliteCeiling: Number(ceiling.toFixed(3)),
            note: `each request runs find(limit 20) on a random tenant; ${((1 - 100 / total) * 100).toFixed(0)}% of them open a tenant and evict another. `
              + `SQLite alone (open + pragmas + the select, and close of the least recently opened of 100 handles, which creates and removes `
              + `the -wal/-shm files) caps churn at ${ceiling.toFixed(2)} of warm here: that is the ceiling; the ratio is churn over it, per round. `
              + `fds ${fdsAtStart} at start, ${fds} at the end (3 per open WAL tenant: db, -wal, -shm); the pool held ${stats.open} tenants`,
          },
        }),
      ];
    } finally {
      rawHandles.splice(0).forEach(db => db.close());
      await warm.close();
      await churn.close();
    }
  },
};

export default scenario;

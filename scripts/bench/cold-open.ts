/**
 * Scenario 3: the first request of an existing tenant that is not open (its file exists, the pool does
 * not hold it), with a 20-entity model: `tenancy.run(id, em => em.count(...))`, against what a MikroORM
 * user writes without this library (`MikroORM.init` per tenant with `dbName` = the file, then a fork and
 * the same count), and against raw better-sqlite3 (open + the same pragmas + the same count).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MikroORM } from '@mikro-orm/core';
import { pragmaStatements } from '@mikro-tenant/sqlite';
import { alternate, entry, excessTime, excessTimeOfSpeedup, median, nowUs, type Scenario } from './harness.js';
import { makeWideModel, openPlainOrm, openTenancy } from './model.js';

const scenario: Scenario = {
  name: 'cold-open',
  title: 'cold open of an existing tenant (20 entities) vs MikroORM.init per tenant and raw better-sqlite3',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 12;
    const perSample = ctx.quick ? 5 : 25;
    const wide = makeWideModel(20);
    const plainWide = makeWideModel(20);
    const first = wide[0]!;
    const plainFirst = plainWide[0]!;
    const tenancy = await openTenancy(ctx.dir, { entities: wide, maxOpen: 100_000 });
    // A seeded tenant file to copy: 20 tables, a few rows in the first.
    const source = tenancy.files.path('seed');
    await tenancy.run('seed', async em => {
      for (let i = 0; i < 20; i++) {
        em.create(first, { name: `row ${i}`, amount: i, active: true, createdAt: new Date() });
      }
      await em.flush();
      await em.getConnection().execute('pragma wal_checkpoint(TRUNCATE)');
    });
    const table = tenancy.orm.getMetadata().get(first.meta.className).tableName;
    const pragmas = pragmaStatements().map(s => s.slice('pragma '.length));
    let serial = 0;
    /** Fresh copies of the seeded tenant, never opened. */
    const freshIds = (count: number) => Array.from({ length: count }, () => {
      const id = `c${serial++}`;
      copyFileSync(source, tenancy.files.path(id));
      return id;
    });

    const ours = async () => {
      const ids = freshIds(perSample);
      const t0 = nowUs();
      for (const id of ids) {
        await tenancy.run(id, em => em.count(first));
      }
      return (nowUs() - t0) / perSample;
    };
    const mikroOrmInit = async () => {
      const files = freshIds(perSample).map(id => tenancy.files.path(id));
      const orms: MikroORM[] = [];
      const t0 = nowUs();
      for (const dbName of files) {
        const orm = await openPlainOrm(dbName, plainWide);
        orms.push(orm);
        await orm.em.fork().count(plainFirst);
      }
      const us = (nowUs() - t0) / perSample;
      await Promise.all(orms.map(orm => orm.close(true)));
      return us;
    };
    const raw = async () => {
      const files = freshIds(perSample).map(id => tenancy.files.path(id));
      const handles: Database.Database[] = [];
      const t0 = nowUs();
      for (const file of files) {
        const db = new Database(file, { fileMustExist: true });
        for (const pragma of pragmas) {
          db.pragma(pragma);
        }
        handles.push(db);
        db.prepare(`select count(*) as count from \`${table}\``).get();
      }
      const us = (nowUs() - t0) / perSample;
      for (const db of handles) {
        db.close();
      }
      return us;
    };
    try {
      // Warm-up: JIT and MikroORM's caches.
      await ours();
      await mikroOrmInit();
      await raw();
      const vsInit = await alternate(rounds, mikroOrmInit, ours);
      const vsRaw = await alternate(rounds, ours, raw);
      return [
        entry({
          scenario: 'cold-open', name: 'cold open + count(), 20 entities: speed-up', baseline: 'MikroORM.init per tenant + fork + count()',
          ratio: median(vsInit.ratios), goal: { op: '>=', value: 10 }, rounds,
          medians: { 'MikroORM.init+count us': median(vsInit.a), 'tenancy cold run+count us': median(vsInit.b) },
          detail: {
            perSample, note: 'ratio = MikroORM.init time / our time (higher is better)',
            remaining: `${excessTimeOfSpeedup(median(vsInit.ratios), 10, median(vsInit.a)).toFixed(1)} us per open beyond the goal: a tenant's driver, `
              + 'connection and EntityManager are built per open (no discovery; the query-builder client on MikroORM 6 is a prototype child '
              + 'of one per process), and SQLite\'s open, pragmas, ATTACH of the shared database and close are most of it (the raw row, '
              + 'which attaches nothing). The JavaScript left per open is MikroORM\'s: the root EntityManager and the request\'s fork of it '
              + '(unit of work, factory, loader each), the first query\'s QueryBuilder, plus the file\'s stat for stats(); an EntityManager '
              + 'made without its helpers until first use would need MikroORM\'s cooperation',
          },
        }),
        entry({
          scenario: 'cold-open', name: 'cold open + count(), 20 entities: cost vs raw', baseline: 'raw better-sqlite3 open + same pragmas + count',
          ratio: median(vsRaw.ratios), goal: { op: '<=', value: 5 }, rounds,
          medians: { 'tenancy cold run+count us': median(vsRaw.a), 'raw open+pragmas+count us': median(vsRaw.b) },
          detail: {
            perSample, pragmas,
            remaining: `${excessTime(median(vsRaw.ratios), 5, median(vsRaw.b)).toFixed(1)} us per open: the per-open JavaScript (driver, connection, knex client, `
              + 'EntityManager and fork, each a few allocations) and the pool\'s bookkeeping; see the speed-up row',
          },
        }),
      ];
    } finally {
      await tenancy.close();
    }
  },
};

export default scenario;

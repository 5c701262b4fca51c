/**
 * Scenario 2: the EntityManager of a warm (open) tenant. `tenancy.fork(id)` and `tenancy.run(id, fn)`
 * against a plain `orm.em.fork()` of a MikroORM on one file; also both followed by one `count()`.
 */
import { join } from 'node:path';
import { RequestContext } from '@mikro-orm/core';
import { alternate, entry, excessTime, median, perCallUs, type Scenario } from './harness.js';
import { makeNote, openPlainOrm, openTenancy, createPlainSchema } from './model.js';

const scenario: Scenario = {
  name: 'warm-em',
  title: 'warm tenant EntityManager vs plain orm.em.fork()',
  async run(ctx) {
    const rounds = ctx.quick ? 3 : 21;
    const n = ctx.quick ? 500 : 4000;
    const Note = makeNote();
    const PlainNote = makeNote();
    const tenancy = await openTenancy(ctx.dir, { entities: [Note] });
    const plain = await openPlainOrm(join(ctx.dir, 'plain.sqlite3'), [PlainNote]);
    await createPlainSchema(plain);
    const ids = Array.from({ length: 10 }, (_, i) => `w${i}`);
    for (const id of ids) {
      await tenancy.run(id, em => em.count(Note));
    }
    const pick = (i: number) => ids[i % ids.length]!;
    try {
      // Warm up the JIT on every path before measuring.
      for (let i = 0; i < 3; i++) {
        await perCallUs(n, k => tenancy.fork(pick(k)));
        await perCallUs(n, k => tenancy.run(pick(k), em => em));
        await perCallUs(n, () => plain.em.fork());
      }
      const plainFork = () => perCallUs(n, () => plain.em.fork());
      const fork = await alternate(rounds, () => perCallUs(n, k => tenancy.fork(pick(k))), plainFork);
      const run = await alternate(rounds, () => perCallUs(n, k => tenancy.run(pick(k), em => em)), plainFork);
      const requestContext = await alternate(rounds, () => perCallUs(n, k => tenancy.run(pick(k), em => em)),
        () => perCallUs(n, () => RequestContext.create(plain.em, () => RequestContext.getEntityManager())));
      const q = Math.max(100, n >> 3);
      const withCount = await alternate(rounds,
        () => perCallUs(q, k => tenancy.run(pick(k), em => em.count(Note), { sharedContext: false })),
        () => perCallUs(q, () => plain.em.fork().count(PlainNote)));
      return [
        entry({
          scenario: 'warm-em', name: 'tenancy.fork(id), tenant open', baseline: 'plain orm.em.fork()',
          ratio: median(fork.ratios), goal: { op: '<=', value: 2 }, rounds,
          medians: { 'tenancy.fork us': median(fork.a), 'orm.em.fork us': median(fork.b) },
          detail: {
            remaining: `${excessTime(median(fork.ratios), 2, median(fork.b)).toFixed(1)} us: a pool lease and the tenant's fork (see the run() row)`,
            note: 'a tenant fork skips two things MikroORM does on every fork that the plain side pays: the deep merge of the logger '
              + 'context (the tenant label is copied) and the sync of the configuration when allowGlobalContext is set around the fork',
          },
        }),
        entry({
          scenario: 'warm-em', name: 'tenancy.run(id, em => em), tenant open', baseline: 'plain orm.em.fork()',
          ratio: median(run.ratios), goal: { op: '<=', value: 1.25 }, rounds,
          medians: { 'tenancy.run us': median(run.a), 'orm.em.fork us': median(run.b) },
          detail: {
            note: 'run() = pool lease + tenant fork + tenant scope (AsyncLocalStorage) + a MikroORM request context naming the fork of the tenant (no fork made for it)',
            remaining: `${excessTime(median(run.ratios), 1.25, median(run.b)).toFixed(1)} us beyond the goal: what run() adds to a fork, the lease (a Map move), `
              + 'the tenant scope and the request context naming the tenant\'s fork, the async function\'s promise and the release',
          },
        }),
        entry({
          scenario: 'warm-em', name: 'tenancy.run(id, em => em), tenant open, vs a request context', baseline: 'RequestContext.create(orm.em, fn)',
          ratio: median(requestContext.ratios), goal: { op: '<=', value: 2 }, rounds,
          medians: { 'tenancy.run us': median(requestContext.a), 'RequestContext.create us': median(requestContext.b) },
          detail: {
            note: 'what a MikroORM app does per request without this library (a fork inside AsyncLocalStorage); not a goal of the brief, shown for context',
            remaining: `${excessTime(median(requestContext.ratios), 2, median(requestContext.b)).toFixed(1)} us beyond the goal (see the run() row)`,
          },
        }),
        entry({
          scenario: 'warm-em', name: 'tenancy.run(id, em => em.count()), tenant open', baseline: 'plain orm.em.fork().count()',
          ratio: median(withCount.ratios), goal: { op: '<=', value: 2 }, rounds,
          medians: { 'tenant run+count us': median(withCount.a), 'plain fork+count us': median(withCount.b) },
          detail: { remaining: `${excessTime(median(withCount.ratios), 2, median(withCount.b)).toFixed(1)} us beyond the goal (see the run() row)` },
        }),
      ];
    } finally {
      await tenancy.close();
      await plain.close(true);
    }
  },
};

export default scenario;

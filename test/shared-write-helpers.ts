import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { SqliteTenancy, type SqliteTenancyOptions } from '@mikro-tenant/sqlite';
import { Account, Entry } from './fixtures/shared-write-entities.js';
import { collectedWarnings } from './helpers.js';

/** A tenancy over `dir` with a shared Account and a per-tenant Entry referencing it; the shared schema is created. */
export async function makeAccountsTenancy(dir: string, tenancy: Partial<SqliteTenancyOptions> = {}): Promise<SqliteTenancy<SqlEntityManager>> {
  const made = await SqliteTenancy.init<SqlEntityManager>({
    dbName: join(dir, 'shared.sqlite3'),
    entities: [Account],
    allowGlobalContext: false,
    debug: false,
    tenancy: { dir: join(dir, 'tenants'), entities: [Entry], warn: (message, code) => collectedWarnings.push({ message, code }), ...tenancy },
  });
  await made.sharedSchema.update();
  return made;
}

/** Runs `fn` and reports the longest event-loop block seen meanwhile (ms), with `monitorEventLoopDelay`. */
export async function withLoopMonitor<T>(fn: () => Promise<T>): Promise<{ result: T; maxBlockMs: number; elapsedMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  // The histogram drops its first interval: let it tick once, so that a block right at the start counts.
  await sleep(20);
  const started = performance.now();
  try {
    const result = await fn();
    return { result, maxBlockMs: histogram.max / 1e6, elapsedMs: performance.now() - started };
  } finally {
    histogram.disable();
  }
}

/** Sleeps `ms` milliseconds (an await between statements of a transaction). */
export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Figures of a burst of concurrent shared writes. */
export interface SharedWriteFigures {
  errors: string[];
  visits: number;
  expected: number;
  maxBlockMs: number;
  elapsedMs: number;
  /** Most writers in flight at once. */
  peakInFlight: number;
}

/**
 * Bumps shared counters concurrently: `tenants` tenant EntityManagers, each in a transaction that
 * awaits between its statements and changes the account it loaded through its entry, and `shared`
 * writes of the shared EntityManager. Tenants `t0..` must exist with one entry each (see {@link seedAccounts}).
 * `window`: most writers in flight at once (the next starts when one is done); all of them by default.
 */
export async function sharedWriteBurst(tenancy: SqliteTenancy, tenants: number, shared: number, prefix = '',
  options: { window?: number } = {}): Promise<SharedWriteFigures> {
  const window = options.window ?? Infinity;
  const errors: string[] = [];
  const fail = (error: unknown) => { errors.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`); };
  // Writers start ten per turn of the event loop (as requests on their own sockets arrive), tenant and
  // shared interleaved, and then run together. Starting them all in one turn would measure the CPU
  // time of starting that many MikroORM transactions (about 2 ms each), not waits for locks.
  const tenantWriter = (tenantId: string) => () => tenancy.run(tenantId, em => em.transactional(async trx => {
    const entry = await trx.findOneOrFail(Entry, { text: 'seed' }, { populate: ['account'] });
    await sleep(1);
    entry.account.visits++;
    await trx.flush();
    await sleep(1);
    trx.create(Entry, { text: 'visit', account: entry.account });
  }));
  const sharedWriter = (accountId: string) => () => tenancy.orm.em.fork().transactional(async em => {
    const account = await em.findOneOrFail(Account, accountId);
    await sleep(1);
    account.visits++;
  });
  // Once each before measuring: the first run of these code paths compiles them (a one-off, not a wait).
  await tenantWriter(`${prefix}warm`)();
  await sharedWriter(`${prefix}sw`)();
  const writers: (() => Promise<unknown>)[] = [
    ...Array.from({ length: tenants }, (_, i) => () => tenantWriter(`${prefix}t${i}`)().catch(fail)),
    ...Array.from({ length: shared }, (_, i) => () => sharedWriter(`${prefix}s${i}`)().catch(fail)),
  ];
  let inFlight = 0;
  let peakInFlight = 0;
  const { maxBlockMs, elapsedMs } = await withLoopMonitor(async () => {
    const running: Promise<unknown>[] = [];
    let slot: (() => void) | undefined;
    for (const [n, write] of interleave(writers.slice(0, tenants), writers.slice(tenants)).entries()) {
      // With a window, the next writer starts when one of the `window` in flight is done.
      while (inFlight >= window) {
        await new Promise<void>(resolve => { slot = resolve; });
      }
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      running.push(write().finally(() => {
        inFlight--;
        slot?.();
      }));
      if (n % 10 === 9) {
        await new Promise(resolve => setImmediate(resolve));
      }
    }
    await Promise.all(running);
  });
  const ids = [...Array.from({ length: tenants }, (_, i) => `${prefix}a${i}`), ...Array.from({ length: shared }, (_, i) => `${prefix}s${i}`)];
  const accounts = await tenancy.orm.em.fork().find(Account, { id: { $in: ids } });
  return { errors, visits: accounts.reduce((sum, a) => sum + a.visits, 0), expected: tenants + shared, maxBlockMs, elapsedMs, peakInFlight };
}

/** The items of `a` and `b` spread evenly over one list. */
function interleave<T>(a: T[], b: T[]): T[] {
  const out: T[] = [];
  for (let i = 0, j = 0; i < a.length || j < b.length;) {
    if (j >= b.length || (i < a.length && i * b.length <= j * a.length)) {
      out.push(a[i++]!);
    } else {
      out.push(b[j++]!);
    }
  }
  return out;
}

/** Creates accounts `a0..`, `s0..` and tenants `t0..` with one entry on their account each (and `warm`, `aw`, `sw` to warm up with). */
export async function seedAccounts(tenancy: SqliteTenancy, tenants: number, shared: number, prefix = ''): Promise<void> {
  await tenancy.orm.em.fork().insertMany(Account, [
    ...Array.from({ length: tenants }, (_, i) => ({ id: `${prefix}a${i}`, visits: 0 })),
    ...Array.from({ length: shared }, (_, i) => ({ id: `${prefix}s${i}`, visits: 0 })),
    { id: `${prefix}aw`, visits: 0 }, { id: `${prefix}sw`, visits: 0 },
  ]);
  const seed = (tenantId: string, account: string) => tenancy.run(tenantId, async em => {
    em.create(Entry, { text: 'seed', account });
    await em.flush();
  });
  for (let i = 0; i < tenants; i++) {
    await seed(`${prefix}t${i}`, `${prefix}a${i}`);
  }
  await seed(`${prefix}warm`, `${prefix}aw`);
  await tenancy.registry.flush();
}

/**
 * Runs `burst` until its longest event-loop block is under `barMs`, at most `attempts` times, and
 * returns every run (each run: the figures of each process). The machine running the suite is shared,
 * and a descheduled process sees its CPU work stretched in wall time; a wait for a lock inside SQLite
 * blocks for the whole busy timeout on every run, so it still fails all of them.
 */
export async function untilUnderBar<F extends { maxBlockMs: number }>(barMs: number, attempts: number, burst: () => Promise<F[]>): Promise<F[][]> {
  const runs: F[][] = [];
  do {
    runs.push(await burst());
  } while (runs.length < attempts && Math.max(...runs.at(-1)!.map(f => f.maxBlockMs)) >= barMs);
  return runs;
}

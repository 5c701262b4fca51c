/**
 * How the shared database is connected so that writing it never stalls the process: one connection
 * per process (writers in this process queue for it asynchronously in knex's pool), waits for other
 * processes' locks done with timers instead of SQLite's blocking `busy_timeout` (the adapter's
 * `withAsyncBusyWaits`), and WAL whenever tenant connections read it through ATTACH.
 * @module
 */
import type { MikroORM, Options } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import type { OrmAdapter } from './orm-adapter.js';
import { DEFAULT_SHARED_PRAGMAS, withSharedPragmas } from './shared-database.js';
import type { PragmaValue } from './sqlite-setup.js';

/** better-sqlite3's own busy timeout, used as the wait budget when the pragma is dropped (`null`). */
const BETTER_SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * The shared ORM's options with the shared connection set up: `pragmas` applied (see
 * {@link withSharedPragmas}), except that the `busy_timeout` becomes the budget of asynchronous waits
 * and SQLite's own is 0. `pragmas: false` leaves MikroORM's connection as it is.
 * @throws TenantError `ERR_INVALID_OPTION` for a pool of more than one connection, or a bad pragma
 */
export function withSharedConnection(orm: OrmAdapter, options: Options, pragmas: Record<string, PragmaValue | null> | false): Options {
  const max = (options.pool as { max?: unknown } | undefined)?.max;
  if (max !== undefined && max !== 1) {
    throw TenantError.invalidOption('pool.max', 'the shared database is written through one connection per process '
      + '(two connections of one process wait for each other\'s locks while blocking the event loop); leave pool.max at 1');
  }
  if (pragmas === false) {
    return options;
  }
  const busy = { ...DEFAULT_SHARED_PRAGMAS, ...pragmas }.busy_timeout;
  const budget = busy === null ? BETTER_SQLITE_BUSY_TIMEOUT_MS : Number(busy);
  if (!Number.isSafeInteger(budget) || budget < 0) {
    throw TenantError.invalidOption('tenancy.sharedPragmas.busy_timeout', 'expected a number of milliseconds (0 or more)');
  }
  return orm.withAsyncBusyWaits(withSharedPragmas(orm, options, { ...pragmas, busy_timeout: 0 }), budget);
}

/**
 * Checks that the shared database is in WAL mode when tenant connections attach it. With a rollback
 * journal a tenant transaction that read a shared row holds a read lock on the shared file until it
 * ends, and the shared connection's commit waits for it while blocking the event loop the tenant
 * needs to finish: every such commit would cost the full busy timeout.
 * @throws TenantError `ERR_INVALID_OPTION`
 */
export async function assertSharedWal(orm: MikroORM<any, any>): Promise<void> {
  const row = await orm.em.getConnection().execute('pragma journal_mode', [], 'get') as { journal_mode?: string } | undefined;
  if (String(row?.journal_mode).toLowerCase() !== 'wal') {
    throw TenantError.invalidOption('tenancy.sharedPragmas', `the shared database is in "${String(row?.journal_mode)}" journal mode, `
      + 'but tenant connections attach it: keep it in WAL (the default; sharedPragmas.journal_mode: \'WAL\'), or set tenancy.attach: false');
  }
}

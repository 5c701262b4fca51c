import { isAbsolute, resolve } from 'node:path';
import type { EntityManager, MikroORM, Options } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import { DEFAULT_PRAGMAS, pragmaStatements, type PragmaValue } from './sqlite-setup.js';

/**
 * Pragmas of the shared database's connection unless overridden (`tenancy.sharedPragmas`). WAL lets
 * tenant connections read the ATTACHed shared file while the app writes to it (with SQLite's default
 * rollback journal every such read blocks the writer), and NORMAL sync in WAL mode makes each registry
 * insert a fraction of the cost of `synchronous=FULL` with a rollback journal.
 */
export const DEFAULT_SHARED_PRAGMAS: Readonly<Record<string, PragmaValue>> = Object.freeze({
  journal_mode: 'WAL',
  synchronous: 'NORMAL',
  busy_timeout: 5000,
  foreign_keys: true,
});

/** A knex pool hook, as MikroORM's `pool.afterCreate` option takes it. */
type AfterCreate = (connection: unknown, done: (error: Error | null, connection: unknown) => void) => void;

/** What better-sqlite3 handles offer for pragmas (all the hook needs of them). */
interface PragmaHandle {
  pragma(source: string): unknown;
}

/**
 * The shared ORM's options with `pragmas` applied to each connection MikroORM's pool creates, before
 * the user's own `pool.afterCreate` (which runs after ours and can override them). `false` leaves the
 * options as they are.
 * @throws TenantError `ERR_INVALID_OPTION` for a pragma name or value that is not a plain word
 */
export function withSharedPragmas(options: Options, pragmas: Record<string, PragmaValue | null> | false): Options {
  if (pragmas === false) {
    return options;
  }
  const statements = sharedPragmaStatements(pragmas);
  const pool = (options.pool ?? {}) as { afterCreate?: AfterCreate };
  const userHook = pool.afterCreate;
  const afterCreate: AfterCreate = (connection, done) => {
    try {
      for (const statement of statements) {
        (connection as PragmaHandle).pragma(statement.slice('pragma '.length));
      }
    } catch (error) {
      done(error as Error, connection);
      return;
    }
    if (userHook) {
      userHook(connection, done);
    } else {
      done(null, connection);
    }
  };
  return { ...options, pool: { ...options.pool, afterCreate } as Options['pool'] };
}

/** Statements for the shared connection: {@link DEFAULT_SHARED_PRAGMAS} with `overrides` merged over them (`null` drops one). */
function sharedPragmaStatements(overrides: Record<string, PragmaValue | null>): string[] {
  // pragmaStatements() merges over the tenant defaults: drop those, then state the shared ones.
  const noTenantDefaults = Object.fromEntries(Object.keys(DEFAULT_PRAGMAS).map(name => [name, null]));
  try {
    return pragmaStatements({ ...noTenantDefaults, ...DEFAULT_SHARED_PRAGMAS, ...overrides });
  } catch (error) {
    if (error instanceof TenantError) {
      // Name the option the user wrote.
      error.message = error.message.replace('"tenancy.pragmas.', '"tenancy.sharedPragmas.');
    }
    throw error;
  }
}

/**
 * The shared database's file, absolute, for ATTACH on tenant connections.
 * @throws TenantError `ERR_INVALID_OPTION` when the shared database is in memory
 */
export function sharedDatabaseFile(orm: MikroORM<any, any>): string {
  const dbName = orm.config.get('dbName');
  if (!dbName || dbName === ':memory:' || dbName.startsWith('file:')) {
    throw TenantError.invalidOption('tenancy.attach', 'attaching needs the shared database in a file (dbName), not in memory');
  }
  return isAbsolute(dbName) ? dbName : resolve(orm.config.get('baseDir') ?? process.cwd(), dbName);
}

/**
 * True when code running now is inside an open transaction of `em` (of the shared ORM): statements
 * sent outside that transaction wait for its connection until it ends.
 */
export function inOpenTransaction(em: EntityManager): boolean {
  const trx = em.getContext(false).getTransactionContext<{ isCompleted?: () => boolean }>();
  return trx !== undefined && !trx.isCompleted?.();
}

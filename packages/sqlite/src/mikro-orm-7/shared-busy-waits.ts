/**
 * The shared database's connection on MikroORM 7 waits for other processes' write locks without
 * blocking the event loop (as `mikro-orm-6/shared-knex-dialect.ts` does on 6).
 *
 * better-sqlite3 is synchronous: SQLite's `busy_timeout` sleeps inside the statement, so a process
 * waiting for another process's write lock stops its event loop for as long as the wait lasts. The
 * connection runs with `busy_timeout = 0` (the caller's pragmas) and waits here, with timers:
 * transactions begin with `BEGIN IMMEDIATE` (the write lock is taken at the start, so a transaction never
 * fails half-way because another process wrote meanwhile), and a `BEGIN IMMEDIATE` or a statement outside
 * a transaction that finds the database locked is tried again after a short sleep, until the budget is
 * spent. Statements inside a transaction run as they are: it holds the write lock already.
 * @module
 */
import type { Options } from '@mikro-orm/core';
import type { SqliteDriver } from '@mikro-orm/sqlite';
import { CompiledQuery, Kysely, type DatabaseConnection, type Dialect } from 'kysely';
import type { SharedHandle } from '../orm-adapter.js';

/** The longest sleep between two attempts: short enough that a released lock is taken soon after. */
const MAX_SLEEP_MS = 25;

/** What the waits need of the better-sqlite3 handle. */
interface TransactionState {
  readonly inTransaction: boolean;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY' || code === 'SQLITE_BUSY_TIMEOUT';
}

/** Runs `attempt` until it does not find the database locked, or the budget is spent. */
async function retryWhileBusy<T>(budgetMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) {
        throw error;
      }
      const sleep = Math.min(MAX_SLEEP_MS, 2 ** n) * (0.5 + Math.random() / 2);
      await new Promise(resolve => setTimeout(resolve, sleep));
    }
  }
}

/**
 * Kysely's SQLite dialect over `db`, beginning with `BEGIN IMMEDIATE` and waiting for locks with timers.
 * `acquired` runs each time kysely hands the connection out (its set-up hook has run by then).
 */
function busyWaitingDialect(dialect: Dialect, db: TransactionState, budgetMs: number, acquired: () => void): Dialect {
  const createDriver = dialect.createDriver.bind(dialect);
  dialect.createDriver = () => {
    const driver = createDriver();
    const waiting = new WeakSet<DatabaseConnection>();
    const acquireConnection = driver.acquireConnection.bind(driver);
    driver.acquireConnection = async () => {
      const connection = await acquireConnection();
      acquired();
      if (!waiting.has(connection)) {
        waiting.add(connection);
        const executeQuery = connection.executeQuery.bind(connection);
        // Outside a transaction a statement that found the database locked changed nothing: it can run again.
        connection.executeQuery = query => (db.inTransaction ? executeQuery(query) : retryWhileBusy(budgetMs, () => executeQuery(query)));
      }
      return connection;
    };
    driver.beginTransaction = connection => retryWhileBusy(budgetMs, async () => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    });
    return driver;
  };
  return dialect;
}

/** Members of MikroORM 7's `SqliteConnection` this file uses (some private in its typings). */
interface SqliteConnectionInternals {
  database?: SharedHandle;
  createKyselyDialect(options: Record<string, unknown>): Dialect;
}

/** Where a connection made by {@link withAsyncBusyWaits} keeps the handle its set-up hook has prepared. */
const READY_HANDLE = Symbol('mikro-tenant:shared-handle');

/**
 * The better-sqlite3 handle of a shared connection made by {@link withAsyncBusyWaits} once kysely has set
 * it up (its `busy_timeout` is then the caller's 0), or undefined (not yet, or another connection).
 */
export function readyHandleOf(connection: unknown): SharedHandle | undefined {
  return (connection as { [READY_HANDLE]?: SharedHandle } | undefined)?.[READY_HANDLE];
}

/**
 * The shared ORM's options with its connection waiting for other processes' locks with timers, up to
 * `budgetMs` per statement. An app that brings its own Kysely instance or dialect (`driverOptions`)
 * decides how locks are waited for.
 */
export function withAsyncBusyWaits(options: Options, budgetMs: number): Options {
  const driverOptions = options.driverOptions as unknown;
  if (driverOptions instanceof Kysely || typeof driverOptions === 'function'
    || (typeof driverOptions === 'object' && driverOptions !== null && 'createDriver' in driverOptions)) {
    return options;
  }
  const Base = options.driver as unknown as typeof SqliteDriver;
  class BusyWaitingDriver extends Base {
    constructor(...args: ConstructorParameters<typeof SqliteDriver>) {
      super(...args);
      const connection = this.connection as unknown as SqliteConnectionInternals & { [READY_HANDLE]?: SharedHandle };
      const createKyselyDialect = connection.createKyselyDialect.bind(connection);
      connection.createKyselyDialect = dialectOptions => {
        // A reconnect makes a new handle, not ready until kysely has set it up.
        connection[READY_HANDLE] = undefined;
        const dialect = createKyselyDialect(dialectOptions);
        const handle = connection.database;
        return busyWaitingDialect(dialect, {
          // The handle is made with the dialect, and again on a reconnect: read it when asked.
          get inTransaction() {
            return connection.database?.inTransaction ?? false;
          },
        }, budgetMs, () => {
          connection[READY_HANDLE] = handle;
        });
      };
    }
  }
  return { ...options, driver: BusyWaitingDriver as unknown as Options['driver'] };
}

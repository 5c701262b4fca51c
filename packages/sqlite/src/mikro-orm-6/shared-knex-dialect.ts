/**
 * The knex dialect of the shared database's connection: waits for other processes' write locks
 * without blocking the event loop.
 *
 * better-sqlite3 is synchronous: SQLite's `busy_timeout` sleeps inside the statement, so a process
 * waiting for another process's write lock stops its event loop for as long as the wait lasts. This
 * dialect runs the connection with `busy_timeout = 0` and does the waiting itself, with timers:
 * transactions begin with `BEGIN IMMEDIATE` (the write lock is taken at the start, so a transaction never
 * fails half-way because another process wrote meanwhile), and a `BEGIN IMMEDIATE` or a statement outside
 * a transaction that finds the database locked is tried again after a short sleep, until the budget
 * (the configured `busy_timeout`) is spent. Statements inside a transaction run as they are: it holds
 * the write lock already.
 * @module
 */
import type { Knex } from 'knex';
import type Database from 'better-sqlite3';
import { BetterSqliteKnexDialect } from '@mikro-orm/knex';

/** A query as knex hands it to its dialect. */
interface KnexQueryObject {
  sql: string;
  bindings?: unknown[];
}

type DialectClass = new (config: Knex.Config) => Knex.Client & {
  _query(connection: Database.Database, obj: KnexQueryObject): Promise<unknown>;
};

/** Where a connection of {@link asyncBusyDialect} keeps the handle its last statement ran on. */
const LAST_HANDLE = Symbol('mikro-tenant:shared-handle');

/**
 * The better-sqlite3 handle a knex client of {@link asyncBusyDialect} last ran a statement on (so one the
 * pool's set-up hook has prepared), or undefined for any other client.
 */
export function lastHandleOf(client: unknown): Database.Database | undefined {
  return (client as { [LAST_HANDLE]?: Database.Database } | undefined)?.[LAST_HANDLE];
}

/** The longest sleep between two attempts: short enough that a released lock is taken soon after. */
const MAX_SLEEP_MS = 25;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY' || code === 'SQLITE_BUSY_TIMEOUT';
}

/**
 * A better-sqlite3 knex dialect that begins transactions with `BEGIN IMMEDIATE` and waits for locked
 * databases asynchronously, up to `budgetMs` per statement.
 */
export function asyncBusyDialect(budgetMs: number): typeof BetterSqliteKnexDialect {
  const Base = BetterSqliteKnexDialect as unknown as DialectClass;
  class AsyncBusyKnexDialect extends Base {
    [LAST_HANDLE]?: Database.Database;

    override async _query(connection: Database.Database, obj: KnexQueryObject): Promise<unknown> {
      this[LAST_HANDLE] = connection;
      const begin = obj.sql === 'BEGIN;';
      if (begin) {
        obj.sql = 'BEGIN IMMEDIATE;';
      } else if (connection.inTransaction) {
        return super._query(connection, obj);
      }
      // Outside a transaction a statement that found the database locked changed nothing: it can run again.
      const deadline = Date.now() + budgetMs;
      for (let attempt = 0; ; attempt++) {
        try {
          return await super._query(connection, obj);
        } catch (error) {
          if (!isBusy(error) || Date.now() >= deadline) {
            throw error;
          }
          const sleep = Math.min(MAX_SLEEP_MS, 2 ** attempt) * (0.5 + Math.random() / 2);
          await new Promise(resolve => setTimeout(resolve, sleep));
        }
      }
    }
  }
  return AsyncBusyKnexDialect as unknown as typeof BetterSqliteKnexDialect;
}

/**
 * The tenant registry in the shared SQLite database, written directly on the shared connection's handle
 * when nothing else is using it.
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { SqlTenantRegistry, type TenantRecord, type TransactionInspector } from '@mikro-tenant/core';
import type { SharedHandle } from './orm-adapter.js';

/** A registration as `registerMany()` takes it. */
type Registration = Omit<TenantRecord, 'createdAt'> & { createdAt?: Date };

/** A prepared statement as {@link SharedHandle} makes it. */
type Statement = ReturnType<SharedHandle['prepare']>;

/**
 * A {@link SqlTenantRegistry} whose inserts (a new tenant's row, written as `createTenant()` resolves)
 * run as one prepared statement on the shared connection's better-sqlite3 handle instead of through
 * MikroORM's query path, which costs several times the statement itself.
 *
 * Only when that is the same as what the query path would do: no transaction of the shared
 * EntityManager to join, none open on the handle (a statement now would land inside it), and MikroORM not
 * logging queries (the insert would be missing from the log). The handle's `busy_timeout` is 0, so a write
 * lock held by another process fails the statement at once, changing nothing; the insert then goes the
 * usual way, whose waits are timers (see shared-connection.ts). Any other failure does the same, so the
 * error a caller sees is the one the query path reports.
 */
export class SharedSqliteRegistry extends SqlTenantRegistry {
  readonly #em: () => EntityManager;
  readonly #handle: () => SharedHandle | undefined;
  /** The one-row insert, prepared on the handle it was made for. */
  #insertOne?: { db: SharedHandle; statement: Statement };

  /**
   * @param em returns the shared EntityManager to use, as {@link SqlTenantRegistry} takes it
   * @param table registry table name
   * @param transactions tells finished transactions from open ones
   * @param handle returns the shared connection's handle once it is set up (undefined: always the query path)
   */
  constructor(em: () => EntityManager, table: string, transactions: TransactionInspector, handle: () => SharedHandle | undefined) {
    super(em, table, transactions);
    this.#em = em;
    this.#handle = handle;
  }

  override async registerMany(records: Registration[]): Promise<number> {
    return this.#insertDirectly(records) ?? super.registerMany(records);
  }

  /** Inserts `records` in one statement on the handle; undefined (nothing written) when it cannot. */
  #insertDirectly(records: Registration[]): number | undefined {
    // Up to 100 rows in one statement, as the query path chunks them.
    if (records.length === 0 || records.length > 100) {
      return undefined;
    }
    const db = this.#handle();
    if (!db?.open || db.inTransaction) {
      return undefined;
    }
    const em = this.#em();
    if (em.getTransactionContext() !== undefined || em.config.getLogger().isEnabled('query')) {
      return undefined;
    }
    try {
      const statement = records.length === 1 ? this.#oneRow(db) : db.prepare(this.insertSql(records.length));
      return statement.run(...SqlTenantRegistry.insertParams(records)).changes;
    } catch {
      return undefined;
    }
  }

  #oneRow(db: SharedHandle): Statement {
    if (this.#insertOne?.db !== db) {
      this.#insertOne = { db, statement: db.prepare(this.insertSql(1)) };
    }
    return this.#insertOne.statement;
  }
}

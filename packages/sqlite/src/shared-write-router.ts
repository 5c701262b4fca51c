/**
 * Shared rows changed through a tenant EntityManager are written over the shared connection, never
 * over the tenant's (which only reads the shared file, through ATTACH).
 *
 * Two connections of one process writing one SQLite file wait for each other's lock inside
 * better-sqlite3's synchronous calls, with the event loop stopped, while the lock holder needs the
 * event loop to finish: each wait costs the whole `busy_timeout` and then fails. So a tenant driver hands
 * its writes of shared entities (from a flush, `em.insert()`, `nativeUpdate()`, `upsert()`, ...) to this
 * router, which runs them through the shared ORM's driver, where writers queue asynchronously for the
 * one shared connection.
 *
 * Atomicity: the shared writes of a tenant transaction go into a shared transaction begun at the first
 * of them and bound to the tenant transaction (nested tenant transactions get savepoints in it). It
 * commits just before the tenant transaction (a failure there rolls both back) and rolls back with it.
 * A crash between the two commits can keep the shared change without the tenant's, as SQLite gives for
 * any transaction over attached WAL databases (atomic per file). A shared transaction open around the
 * tenant work (`orm.em.transactional()` outside `tenancy.run()`) is joined instead, with a savepoint.
 * @module
 */
import { Utils } from '@mikro-orm/core';
import type { SqlTransactions } from '@mikro-tenant/sql';

/** A transaction as MikroORM passes it around (`ctx`): knex's on MikroORM 6, kysely's on 7. */
export type Transaction = object;

/** What the router needs to know of the driver's transactions (the adapter's, for the installed major). */
export type { SqlTransactions };

/** What the router uses of the shared ORM's connection (MikroORM's `AbstractSqlConnection`, either major). */
interface SharedConnection {
  begin(options: { ctx?: unknown }): Promise<Transaction>;
  commit(trx: never): Promise<void>;
  rollback(trx: never): Promise<void>;
}

/** What the router uses of the shared ORM's driver; the routing drivers call its find/count/native* methods. */
export interface SharedDriver {
  getConnection(type: 'write'): SharedConnection;
}

interface Bound {
  /** The shared transaction being begun or begun. */
  readonly begun: Promise<Transaction>;
  /** Set once begun. */
  trx?: Transaction;
}

/** Routes writes of shared entities from tenant drivers to the shared driver, in shared transactions bound to the tenants'. */
export class SharedWriteRouter<D extends SharedDriver = SharedDriver> {
  readonly #driver: D;
  readonly #transactions: SqlTransactions;
  readonly #isShared: (entityName: string) => boolean;
  readonly #outer: () => Transaction | undefined;
  /** Shared transaction per tenant transaction (knex transaction objects). */
  readonly #bound = new WeakMap<Transaction, Bound>();

  /**
   * @param driver the shared ORM's driver
   * @param transactions what the driver's transactions are (committed, nested in which)
   * @param isShared whether an entity (class name) lives in the shared database
   * @param outer the shared transaction open around the caller, if any (joined instead of a new one)
   */
  constructor(driver: D, transactions: SqlTransactions, isShared: (entityName: string) => boolean, outer: () => Transaction | undefined) {
    this.#driver = driver;
    this.#transactions = transactions;
    this.#isShared = isShared;
    this.#outer = outer;
  }

  /** True when writes of this entity go to the shared database. */
  handles(entityName: unknown): boolean {
    return this.#isShared(typeof entityName === 'string' ? entityName : Utils.className(entityName as never));
  }

  /**
   * Runs `write` on the shared driver: inside the shared transaction bound to `tenantTrx` (begun now if
   * needed), or, outside a tenant transaction, in the caller's shared transaction or on its own.
   */
  async write<T>(tenantTrx: Transaction | undefined, write: (driver: D, ctx: Transaction | undefined) => Promise<T>): Promise<T> {
    const ctx = tenantTrx ? await this.#sharedFor(tenantTrx) : this.#openOuter();
    return write(this.#driver, ctx);
  }

  /**
   * The shared transaction holding writes of `tenantTrx` (or of a transaction it is nested in), for
   * reads that must see them; `undefined` when there is none (shared rows are then read through ATTACH).
   */
  readTransaction(tenantTrx: Transaction | undefined): Transaction | undefined {
    for (let trx = tenantTrx; trx; trx = this.#transactions.parentOf(trx)) {
      const shared = this.#bound.get(trx)?.trx;
      if (shared) {
        return shared;
      }
    }
    return undefined;
  }

  /** The shared driver, for reads routed with {@link readTransaction}. */
  get driver(): D {
    return this.#driver;
  }

  /** Commits the shared transaction bound to `tenantTrx`, if any. Called just before the tenant's commit. */
  async commit(tenantTrx: Transaction): Promise<void> {
    const trx = await this.#unbind(tenantTrx);
    if (!trx) {
      return;
    }
    try {
      await this.#connection.commit(trx as never);
    } catch (error) {
      await this.#connection.rollback(trx as never).catch(() => undefined);
      throw error;
    }
  }

  /** Rolls back the shared transaction bound to `tenantTrx`, if any. */
  async rollback(tenantTrx: Transaction): Promise<void> {
    const trx = await this.#unbind(tenantTrx);
    if (trx && this.#isOpen(trx)) {
      await this.#connection.rollback(trx as never);
    }
  }

  get #connection(): SharedConnection {
    return this.#driver.getConnection('write');
  }

  #isOpen(trx: Transaction | undefined): trx is Transaction {
    return trx !== undefined && !this.#transactions.isCompleted(trx);
  }

  #openOuter(): Transaction | undefined {
    const outer = this.#outer();
    return this.#isOpen(outer) ? outer : undefined;
  }

  async #unbind(tenantTrx: Transaction): Promise<Transaction | undefined> {
    const bound = this.#bound.get(tenantTrx);
    if (!bound) {
      return undefined;
    }
    this.#bound.delete(tenantTrx);
    return bound.begun.catch(() => undefined);
  }

  #sharedFor(tenantTrx: Transaction): Promise<Transaction> {
    const existing = this.#bound.get(tenantTrx);
    if (existing) {
      return existing.begun;
    }
    const parent = this.#transactions.parentOf(tenantTrx);
    const bound: { begun?: Promise<Transaction>; trx?: Transaction } = {};
    bound.begun = (async () => {
      const ctx = parent ? await this.#sharedFor(parent) : this.#openOuter();
      const trx = await this.#connection.begin({ ctx: ctx as never });
      bound.trx = trx;
      return trx;
    })();
    this.#bound.set(tenantTrx, bound as Bound);
    bound.begun.catch(() => {
      // A begin that failed (lock budget spent, pool timeout) fails this write; the next one tries again.
      if (this.#bound.get(tenantTrx) === bound) {
        this.#bound.delete(tenantTrx);
      }
    });
    return bound.begun;
  }
}

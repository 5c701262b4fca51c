import type { Knex } from 'knex';
import type Database from 'better-sqlite3';
import { BetterSqliteKnexDialect, knex } from '@mikro-orm/knex';
import type { StatementGuard, TenantBinding } from '../orm-adapter.js';

/** How long a statement waits for the tenant's handle (held by a transaction, say) before failing, as knex's pool did. */
const ACQUIRE_TIMEOUT_MS = 60_000;

let betterSqlite: typeof Database | undefined;

/** The prototype of every tenant's client (see {@link TenantKnexDialect.forTenant}). */
let template: TenantKnexDialect | undefined;

/** The statement guard of each open tenant handle. */
const handleGuards = new WeakMap<Database.Database, StatementGuard>();

interface HandleWaiter {
  resolve(db: Database.Database): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** The single handle of a tenant's knex client and who holds it. */
interface HandleState {
  readonly binding: TenantBinding;
  db?: Database.Database;
  leased: boolean;
  readonly waiters: HandleWaiter[];
  destroying?: Promise<void>;
  drained?: () => void;
}

/**
 * better-sqlite3's knex dialect for one tenant file: opens only an existing file (unless building one),
 * prepares the handle (pragmas, ATTACH), and replaces knex's tarn pool with a single handle leased in
 * FIFO order. A lease (a statement, or a transaction until commit/rollback) has the handle to itself;
 * other statements queue behind it, as they did with a tarn pool of max 1, but without a pool object,
 * its timers and the validation round-trip per tenant.
 */
export class TenantKnexDialect extends (BetterSqliteKnexDialect as unknown as new (config: Knex.Config) => Knex.Client) {
  // One state object, not #fields: knex derives clients with Object.create(client) (SQLite's strict-pragma
  // client for schema alterations), and those must reach the same handle.
  private readonly handle: HandleState;

  private constructor(config: Knex.Config) {
    super(config);
    this.handle = { binding: undefined as never, leased: false, waiters: [] };
  }

  /**
   * The client of one tenant's file: a prototype child of one per-process client that holds no tenant
   * state (its configuration, logger and driver module are the same for every tenant), owning only the
   * tenant's handle and its event listeners. Spares each open knex's client constructor (a deep clone of
   * its settings, a logger, its driver set-up).
   */
  static forTenant(binding: TenantBinding): TenantKnexDialect {
    template ??= new TenantKnexDialect({ client: TenantKnexDialect as never, connection: { filename: ':memory:' }, useNullAsDefault: true });
    const client = Object.create(template) as TenantKnexDialect & { _events: object; _eventsCount: number; _maxListeners?: number };
    (client as unknown as { handle: HandleState }).handle = { binding, leased: false, waiters: [] };
    client._events = Object.create(null) as object;
    client._eventsCount = 0;
    client._maxListeners = undefined;
    return client;
  }

  // Called by knex's constructor: the single handle below replaces the pool.
  override initializePool(): void {}

  // Called by knex's constructor: `require('better-sqlite3')` once, not per tenant.
  override initializeDriver(): void {
    if (!betterSqlite) {
      super.initializeDriver();
      betterSqlite = this.driver as typeof Database;
    }
    this.driver = betterSqlite;
  }

  /** Opens the handle now if it is not open, so a missing or unreadable file fails here. */
  openHandle(): Database.Database {
    const handle = this.handle;
    if (handle.destroying) {
      throw new Error('Unable to acquire a connection');
    }
    return handle.db ??= this.openRaw();
  }

  /** The open handle, if any (without opening one). */
  currentHandle(): Database.Database | undefined {
    return this.handle.db;
  }

  override async acquireRawConnection(): Promise<Database.Database> {
    return this.openRaw();
  }

  override acquireConnection(): Promise<Database.Database> {
    const handle = this.handle;
    if (!handle.leased) {
      try {
        const db = this.openHandle();
        handle.leased = true;
        return Promise.resolve(db);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    if (handle.destroying) {
      return Promise.reject(new Error('Unable to acquire a connection'));
    }
    return new Promise((resolve, reject) => {
      const waiter: HandleWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          handle.waiters.splice(handle.waiters.indexOf(waiter), 1);
          reject(new knex.KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full. '
            + 'Are you missing a .transacting(trx) call?'));
        }, ACQUIRE_TIMEOUT_MS),
      };
      handle.waiters.push(waiter);
    });
  }

  override releaseConnection(connection: Database.Database): Promise<void> {
    const handle = this.handle;
    if (connection === handle.db && handle.leased) {
      const next = handle.destroying ? undefined : handle.waiters.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(connection);
      } else {
        handle.leased = false;
        handle.drained?.();
      }
    }
    return Promise.resolve();
  }

  /** Waits for the current lease to end, fails the queued ones (as tarn did) and closes the handle. */
  override destroy(callback?: (error?: unknown) => void): Promise<void> {
    const handle = this.handle;
    handle.destroying ??= (async () => {
      if (handle.leased) {
        await new Promise<void>(resolve => { handle.drained = resolve; });
      }
      for (const waiter of handle.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('aborted'));
      }
      const db = handle.db;
      handle.db = undefined;
      db?.close();
    })();
    return callback ? handle.destroying.then(() => callback(), callback) : handle.destroying;
  }

  // Every statement on the tenant's handle passes the binding's guard first. Keyed by handle: knex runs
  // transactions through a client made from this class's prototype, without this client's state.
  _query(connection: Database.Database, obj: { sql: string; bindings?: unknown[] }): Promise<unknown> {
    const guard = handleGuards.get(connection);
    if (guard) {
      try {
        guard(connection, obj.sql, (this as unknown as { _formatBindings(b?: unknown[]): unknown[] })._formatBindings(obj.bindings));
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    return (BetterSqliteKnexDialect.prototype as unknown as { _query(c: Database.Database, o: object): Promise<unknown> })._query.call(this, connection, obj);
  }

  private openRaw(): Database.Database {
    const binding = this.handle.binding;
    const BetterSqlite = (this as unknown as { driver: typeof Database }).driver;
    const db = new BetterSqlite(binding.file, { fileMustExist: !binding.create });
    try {
      binding.setup(db);
    } catch (error) {
      db.close();
      throw error;
    }
    if (binding.guard) {
      handleGuards.set(db, binding.guard);
    }
    if (binding.quotaBytes !== undefined) {
      limitPages(db, binding.quotaBytes);
    }
    return db;
  }
}

/**
 * Caps the file at `quotaBytes` (rounded down to whole pages, at least one): SQLite then refuses, with
 * SQLITE_FULL, any statement that would grow the file past it, and rolls that statement back. A file already
 * larger keeps its size (SQLite never lowers the cap below it): it can be read and shrunk, not grown.
 */
function limitPages(db: Database.Database, quotaBytes: number): void {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(quotaBytes / pageSize))}`);
}

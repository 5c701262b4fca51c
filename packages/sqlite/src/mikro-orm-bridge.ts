/**
 * The tenant's knex dialect, connection and driver over MikroORM 6 internals (protected members, knex
 * dialects). With the files of `mikro-orm-6/` (the derived tenant configuration and EntityManager classes,
 * the request context of a tenant scope, the routing of shared writes among them), this is all a port to
 * MikroORM 7 (kysely, `onCreateConnection`) has to touch.
 */
import { createRequire } from 'node:module';
import type { Knex } from 'knex';
import type Database from 'better-sqlite3';
import {
  Configuration, type DriverException, type MikroORM, type MetadataStorage,
  type LogContext, type TransactionEventBroadcaster,
} from '@mikro-orm/core';
import { BetterSqliteKnexDialect, SqlEntityManager, knex, type AbstractSqlPlatform } from '@mikro-orm/knex';
import { BetterSqliteConnection, BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { TenantError, type TenantObserver } from '@mikro-tenant/core';
import type { TenantEntityManager } from './mikro-orm-6/tenant-entity-manager.js';
import type { SharedWriteRouter } from './mikro-orm-6/shared-write-router.js';
import { SharedRoutingDriver } from './mikro-orm-6/shared-routing-driver.js';
import type { StatementGuard } from './mikro-orm-6/shared-write-guard.js';

/** Where a tenant connection points and how its raw handle is prepared. */
export interface TenantBinding {
  /** Canonical tenant id. */
  readonly tenantId: string;
  /** Absolute path of the tenant's database file; must exist when the connection opens. */
  readonly file: string;
  /** Prepares a freshly opened handle (pragmas, ATTACH of the shared database). */
  readonly setup: (db: Database.Database) => void;
  /** Allows opening a file that does not exist yet (template and migration builds). @default false */
  readonly create?: boolean;
  /** Sends this tenant's writes of shared entities over the shared connection (see mikro-orm-6/shared-write-router.ts). */
  readonly sharedWrites?: SharedWriteRouter;
  /** Checks every statement before it runs (refuses writes of the attached shared database). */
  readonly guard?: StatementGuard;
  /** Times each statement (the tenancy's statistics, metrics and traces) and hears of refused writes. */
  readonly observer?: TenantObserver;
  /** The tenant's size quota in bytes: SQLite refuses writes past it (`PRAGMA max_page_count`). */
  readonly quotaBytes?: number;
}

/** How long a statement waits for the tenant's handle (held by a transaction, say) before failing, as knex's pool did. */
const ACQUIRE_TIMEOUT_MS = 60_000;

let betterSqlite: typeof Database | undefined;

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
class TenantKnexDialect extends (BetterSqliteKnexDialect as unknown as new (config: Knex.Config) => Knex.Client) {
  // One state object, not #fields: knex derives clients with Object.create(client) (SQLite's strict-pragma
  // client for schema alterations), and those must reach the same handle.
  private readonly handle: HandleState;

  constructor(config: Knex.Config, binding: TenantBinding) {
    super(config);
    // Kept out of knex's connection settings, which knex deep-clones per client.
    this.handle = { binding, leased: false, waiters: [] };
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
    return openBound((this as unknown as { driver: typeof Database }).driver, this.handle.binding);
  }
}

/** Opens the tenant's file with better-sqlite3 and prepares the handle (pragmas, ATTACH, its statement guard); closes it again if that fails. */
function openBound(BetterSqlite: typeof Database, binding: TenantBinding): Database.Database {
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

/**
 * Caps the file at `quotaBytes` (rounded down to whole pages, at least one): SQLite then refuses, with
 * SQLITE_FULL, any statement that would grow the file past it, and rolls that statement back. A file already
 * larger keeps its size (SQLite never lowers the cap below it): it can be read and shrunk, not grown.
 */
function limitPages(db: Database.Database, quotaBytes: number): void {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(quotaBytes / pageSize))}`);
}

/** True for SQLite's "database or disk is full", which a quota's page cap raises. */
function isFull(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'SQLITE_FULL';
}

/** A tenant's raw handle as work outside knex uses it: `exec()` passes the handle's statement guard first, as knex's statements do. */
export interface TenantHandle {
  exec(sql: string): unknown;
  prepare(sql: string): Database.Statement;
  readonly inTransaction: boolean;
  close(): void;
}

function guarded(db: Database.Database): TenantHandle {
  const guard = handleGuards.get(db);
  if (!guard) {
    return db;
  }
  return {
    exec: sql => {
      guard(db, sql, []);
      return db.exec(sql);
    },
    prepare: sql => db.prepare(sql),
    get inTransaction() {
      return db.inTransaction;
    },
    close: () => db.close(),
  };
}

/**
 * A tenant's file opened and prepared as its connection opens it (pragmas, ATTACH), as a bare handle that
 * is the caller's to close: for work that needs nothing of MikroORM on a tenant no connection holds
 * (the CLI's migrations). Never open one beside a connection of the same tenant in one process.
 */
export function openTenantHandle(binding: TenantBinding): TenantHandle {
  betterSqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  return guarded(openBound(betterSqlite, binding));
}

type KnexInstance = Knex & { context: { client: Knex.Client; userParams: object }; _events: object; _eventsCount: number };

/** Template of every tenant's knex instance: only its methods are used, and its client only to build SQL. */
let rootKnex: KnexInstance | undefined;

function templateKnex(): KnexInstance {
  return rootKnex ??= knex({ client: BetterSqliteKnexDialect as never, connection: { filename: ':memory:' }, pool: { max: 0 }, useNullAsDefault: true }) as KnexInstance;
}

/**
 * A knex instance for one tenant's client. `knex()` builds ~100 closures per instance (one per query
 * method); they all reach the client through `this.context.client`, so a tenant's instance can inherit
 * them from one template instead and own just its context and events.
 */
function tenantKnex(client: Knex.Client): Knex {
  const rootKnex = templateKnex();
  const instance = function tenantKnexInstance(tableName?: string, options?: object) {
    const qb = instance.context.client.queryBuilder();
    return tableName ? (qb.table as (name: string, options?: object) => Knex.QueryBuilder)(tableName, options) : qb;
  } as unknown as KnexInstance;
  Object.setPrototypeOf(instance, rootKnex);
  instance.context = Object.assign(Object.create(rootKnex.context) as KnexInstance['context'], { client, userParams: {} });
  instance._events = Object.create(null) as object;
  instance._eventsCount = 0;
  return instance;
}

/**
 * A knex-backed MikroORM connection to one tenant's file.
 *
 * Closed through MikroORM's API (`driver.close()`, `driver.reconnect()`, as the schema tools do), it opens
 * again on `connect()` or, as MikroORM's lazy connect does, on its next query: a pooled tenant never stays
 * closed. Evicted by the pool (or deleted), it is closed for good and queries fail with a coded error.
 */
export class TenantSqliteConnection extends BetterSqliteConnection {
  #binding?: TenantBinding;
  #state: 'open' | 'closed' | 'evicted' = 'open';
  /** The handle's close in progress (it waits for the current lease), awaited before a reopen. */
  #closing: Promise<void> = Promise.resolve();
  /** Why an evicted connection was closed, for the error its next query gets; unset: evicted by the pool. */
  #closedBy?: 'deletion' | 'tenancy';
  #sqlOnly = false;

  /** Lets an unbound connection build SQL (the schema generator's DDL), never run it. */
  buildSqlOnly(): void {
    this.#sqlOnly = true;
  }

  /** Marks the tenant as being deleted: once closed, queries fail with `ERR_TENANT_DELETED`. */
  markDeleted(): void {
    this.#closedBy = 'deletion';
  }

  /** Marks the tenancy as closing: once closed, queries fail with `ERR_TENANCY_CLOSED`. */
  markTenancyClosed(): void {
    this.#closedBy ??= 'tenancy';
  }

  /** Points this connection at a tenant. Must be called before the first query. */
  bind(binding: TenantBinding): void {
    this.#binding = binding;
  }

  /** The tenant this connection belongs to, if bound. */
  get binding(): TenantBinding | undefined {
    return this.#binding;
  }

  override createKnex(): void {
    this.client = tenantKnex(new TenantKnexDialect(this.getKnexOptions('better-sqlite3'), this.#binding!));
    this.connected = true;
  }

  /**
   * Opens the tenant's file now (synchronously: better-sqlite3 is), so a missing or unreadable file fails
   * here and not on the first query; no validation query is needed.
   */
  open(): void {
    this.#assertUsable();
    if (!this.client) {
      this.createKnex();
    }
    (this.client.client as unknown as TenantKnexDialect).openHandle();
  }

  override async connect(): Promise<void> {
    this.#assertUsable();
    if (this.#state === 'closed' || !this.client) {
      // Never two handles on one file in one process: the old one closes first.
      await this.#closing;
      this.#assertUsable();
      this.#state = 'open';
      this.createKnex();
    }
  }

  override getKnex(): Knex {
    if (this.#sqlOnly && !this.#binding) {
      return templateKnex();
    }
    this.#assertUsable();
    return super.getKnex();
  }

  override async execute<T>(...args: Parameters<BetterSqliteConnection['execute']>): Promise<T> {
    this.#assertUsable();
    const binding = this.#binding!;
    const { observer } = binding;
    const run = observer?.timesQueries ? observer.query(binding.tenantId, () => super.execute(...args) as Promise<T>) : super.execute(...args) as Promise<T>;
    if (binding.quotaBytes === undefined) {
      return run;
    }
    try {
      return await run;
    } catch (error) {
      throw this.#quotaError(error);
    }
  }

  /** SQLITE_FULL on a tenant with a quota is the quota (its page cap), reported and coded; other errors pass. */
  #quotaError(error: unknown): unknown {
    const binding = this.#binding!;
    if (binding.quotaBytes === undefined || !isFull(error)) {
      return error;
    }
    const db = (this.client?.client as unknown as TenantKnexDialect | undefined)?.currentHandle();
    const size = db ? (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number) : undefined;
    binding.observer?.quotaExceeded(binding.tenantId, binding.quotaBytes, size);
    return TenantError.quotaExceeded(binding.tenantId, binding.quotaBytes, error);
  }

  /**
   * Runs `fn` with the tenant's raw better-sqlite3 handle, held as a statement or a transaction holds it:
   * after the work queued before it, with nothing else running on it until `fn` returns. For SQLite work
   * that needs nothing of MikroORM (no logging, no entities), such as a migration script.
   */
  async withHandle<T>(fn: (db: TenantHandle) => T): Promise<T> {
    this.#assertUsable();
    await this.ensureConnection();
    const dialect = this.client.client as unknown as TenantKnexDialect;
    const db = await dialect.acquireConnection();
    try {
      return fn(guarded(db));
    } finally {
      await dialect.releaseConnection(db);
    }
  }

  /** True when MikroORM's logger prints queries (`debug` on): work done through {@link withHandle} would not be logged. */
  get logsQueries(): boolean {
    return this.logger.isEnabled('query');
  }

  // Transactions reach knex directly: reopen a closed connection first, as execute() does.
  override async begin(...args: Parameters<BetterSqliteConnection['begin']>): ReturnType<BetterSqliteConnection['begin']> {
    await this.ensureConnection();
    return super.begin(...args);
  }

  // Not async: on eviction the handle closes in this call, without a promise round per layer.
  override close(force?: boolean): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.connected = false;
      this.#closing = this.client ? (this.client.client as unknown as TenantKnexDialect).destroy() : Promise.resolve();
    }
    return this.#closing;
  }

  /** Closes the connection for good (the pool evicts the tenant, or deletes it). */
  evict(): Promise<void> {
    const closing = this.close();
    this.#state = 'evicted';
    return closing;
  }

  // A tenant transaction's shared writes (if any) commit just before it, and roll back with it.
  override async commit(ctx: Knex.Transaction, eventBroadcaster?: TransactionEventBroadcaster, loggerContext?: LogContext): Promise<void> {
    const router = this.#binding?.sharedWrites;
    await router?.commit(ctx);
    await super.commit(ctx, eventBroadcaster, loggerContext);
    // Shared writes made by beforeTransactionCommit subscribers.
    await router?.commit(ctx);
  }

  override async rollback(ctx: Knex.Transaction, eventBroadcaster?: TransactionEventBroadcaster, loggerContext?: LogContext): Promise<void> {
    try {
      await this.#binding?.sharedWrites?.rollback(ctx);
    } finally {
      await super.rollback(ctx, eventBroadcaster, loggerContext);
    }
  }

  protected override getKnexOptions(type: string): Knex.Config {
    return {
      client: TenantKnexDialect as never,
      connection: { filename: this.#binding!.file },
      // One handle per tenant file, leased by TenantKnexDialect: statements and transactions queue on it.
      useNullAsDefault: true,
    };
  }

  #assertUsable(): void {
    if (!this.#binding) {
      throw TenantError.noTenantContext();
    }
    if (this.#state === 'evicted') {
      const tenantId = this.#binding.tenantId;
      throw this.#closedBy === 'deletion' ? TenantError.tenantDeleted(tenantId)
        : this.#closedBy === 'tenancy' ? TenantError.tenancyClosed() : TenantError.tenantEvicted(tenantId);
    }
  }
}

/** The MikroORM driver of one tenant: reuses the root ORM's metadata and compiled caches; its configuration comes from `mikro-orm-6/tenant-config.ts`. */
export class TenantSqliteDriver extends SharedRoutingDriver<TenantSqliteConnection> {
  constructor(config: Configuration) {
    super(config, config.getPlatform() as AbstractSqlPlatform, TenantSqliteConnection, ['knex', 'better-sqlite3']);
  }

  /**
   * Context name of this tenant's EntityManagers, `<contextName>:tenant:<id>`: unique per tenant and per
   * tenancy, so MikroORM's request and transaction contexts never mix tenants, tenancies or the shared ORM.
   */
  get contextName(): string {
    const tenantId = this.connection.binding?.tenantId;
    const prefix = this.config.get('contextName');
    return tenantId === undefined ? prefix : `${prefix}:${tenantId}`;
  }

  override setMetadata(metadata: MetadataStorage): void {
    this.metadata = metadata;
    // The configuration caches compiled comparators/mappers: share them instead of recompiling per tenant.
    this.comparator = this.config.getComparator(metadata);
    this.connection.setMetadata(metadata);
  }

  // Our coded errors (a quota, a refused shared write) reach the caller as they are, not wrapped in a DriverException.
  override convertException(exception: Error): DriverException {
    return exception instanceof TenantError ? exception as unknown as DriverException : super.convertException(exception);
  }

  // A tenant driver opens no replica connections: close the one it has, without MikroORM's Promise.all round.
  override close(force?: boolean): Promise<void> {
    return this.replicas.length ? super.close(force) : this.connection.close(force);
  }

  override createEntityManager(useContext?: boolean): TenantEntityManager {
    // The tenancy's configuration names the tenant class made over the app's `entityManager` (mikro-orm-6/tenant-entity-manager.ts).
    const EntityManagerClass = this.config.get('entityManager') as unknown as new (...args: unknown[]) => TenantEntityManager;
    return new EntityManagerClass(this.config, this, this.metadata, useContext ?? false);
  }
}

/**
 * Makes the shared ORM's schema generator (and migrations diffing) skip the per-tenant tables. The
 * generator is cached by MikroORM with its options copied at construction, so both are updated.
 */
export function skipTablesInSharedSchema(orm: MikroORM<any, any>, tables: string[]): void {
  const generator = orm.config.get('schemaGenerator');
  const options = { ...generator, skipTables: [...(generator.skipTables ?? []), ...tables] };
  orm.config.set('schemaGenerator', options);
  (orm.schema as unknown as { options: typeof options }).options = options;
}

export { BetterSqliteDriver, Configuration };
export type { SqlEntityManager };

/**
 * Tenant connections, drivers and EntityManagers over MikroORM 6 internals (protected members, knex
 * dialects). With the files of `mikro-orm-6/` (and `lazy-request-context.ts`), this is all a port to
 * MikroORM 7 (kysely, `onCreateConnection`) has to touch.
 */
import type { Knex } from 'knex';
import type Database from 'better-sqlite3';
import {
  Configuration, TransactionContext, type MikroORM, type ConnectionType, type EventManager, type MetadataStorage, type Options,
} from '@mikro-orm/core';
import { AbstractSqlDriver, BetterSqliteKnexDialect, SqlEntityManager, knex, type AbstractSqlPlatform } from '@mikro-orm/knex';
import { BetterSqliteConnection, BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { TenantError, currentTenantScope, requireTenantScope } from '@mikro-tenant/core';

/** Where a tenant connection points and how its raw handle is prepared. */
export interface TenantBinding {
  /** Canonical tenant id. */
  readonly tenantId: string;
  /** Absolute path of the tenant's database file; must exist when the connection opens. */
  readonly file: string;
  /** Prepares a freshly opened handle (pragmas, ATTACH of the shared database). */
  readonly setup: (db: Database.Database) => void;
  /** Called on every statement, so the pool can keep its LRU order. */
  readonly touch?: () => void;
  /** Allows opening a file that does not exist yet (template and migration builds). @default false */
  readonly create?: boolean;
}

/** How long a statement waits for the tenant's handle (held by a transaction, say) before failing, as knex's pool did. */
const ACQUIRE_TIMEOUT_MS = 60_000;

let betterSqlite: typeof Database | undefined;

interface HandleWaiter {
  resolve(db: Database.Database): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * better-sqlite3's knex dialect for one tenant file: opens only an existing file (unless building one),
 * prepares the handle (pragmas, ATTACH), and replaces knex's tarn pool with a single handle leased in
 * FIFO order. A lease (a statement, or a transaction until commit/rollback) has the handle to itself;
 * other statements queue behind it, as they did with a tarn pool of max 1, but without a pool object,
 * its timers and the validation round-trip per tenant.
 */
class TenantKnexDialect extends (BetterSqliteKnexDialect as unknown as new (config: Knex.Config) => Knex.Client) {
  // Kept out of knex's connection settings, which knex deep-clones per client.
  readonly #binding: TenantBinding;
  #db?: Database.Database;
  #leased = false;
  readonly #waiters: HandleWaiter[] = [];
  #destroying?: Promise<void>;
  #drained?: () => void;

  constructor(config: Knex.Config, binding: TenantBinding) {
    super(config);
    this.#binding = binding;
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
    if (this.#destroying) {
      throw new Error('Unable to acquire a connection');
    }
    return this.#db ??= this.#openRaw();
  }

  override async acquireRawConnection(): Promise<Database.Database> {
    return this.#openRaw();
  }

  override acquireConnection(): Promise<Database.Database> {
    if (!this.#leased) {
      try {
        const db = this.openHandle();
        this.#leased = true;
        return Promise.resolve(db);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    if (this.#destroying) {
      return Promise.reject(new Error('Unable to acquire a connection'));
    }
    return new Promise((resolve, reject) => {
      const waiter: HandleWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(new knex.KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full. '
            + 'Are you missing a .transacting(trx) call?'));
        }, ACQUIRE_TIMEOUT_MS),
      };
      this.#waiters.push(waiter);
    });
  }

  override releaseConnection(connection: Database.Database): Promise<void> {
    if (connection === this.#db && this.#leased) {
      const next = this.#destroying ? undefined : this.#waiters.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(connection);
      } else {
        this.#leased = false;
        this.#drained?.();
      }
    }
    return Promise.resolve();
  }

  /** Waits for the current lease to end, fails the queued ones (as tarn did) and closes the handle. */
  override destroy(callback?: (error?: unknown) => void): Promise<void> {
    this.#destroying ??= (async () => {
      if (this.#leased) {
        await new Promise<void>(resolve => { this.#drained = resolve; });
      }
      for (const waiter of this.#waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('aborted'));
      }
      const db = this.#db;
      this.#db = undefined;
      db?.close();
    })();
    return callback ? this.#destroying.then(() => callback(), callback) : this.#destroying;
  }

  #openRaw(): Database.Database {
    const binding = this.#binding;
    const BetterSqlite = (this as unknown as { driver: typeof Database }).driver;
    const db = new BetterSqlite(binding.file, { fileMustExist: !binding.create });
    try {
      binding.setup(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  }
}

type KnexInstance = Knex & { context: { client: Knex.Client; userParams: object }; _events: object; _eventsCount: number };

/** Template of every tenant's knex instance: only its methods are used, never its client. */
let rootKnex: KnexInstance | undefined;

/**
 * A knex instance for one tenant's client. `knex()` builds ~100 closures per instance (one per query
 * method); they all reach the client through `this.context.client`, so a tenant's instance can inherit
 * them from one template instead and own just its context and events.
 */
function tenantKnex(client: Knex.Client): Knex {
  rootKnex ??= knex({ client: BetterSqliteKnexDialect as never, connection: { filename: ':memory:' }, pool: { max: 0 }, useNullAsDefault: true }) as KnexInstance;
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

/** A knex-backed MikroORM connection to one tenant's file. */
export class TenantSqliteConnection extends BetterSqliteConnection {
  #binding?: TenantBinding;
  #closed = false;
  #deleted = false;

  /** Marks the tenant as being deleted: once closed, queries fail with `ERR_TENANT_DELETED`. */
  markDeleted(): void {
    this.#deleted = true;
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
    this.createKnex();
  }

  override getKnex(): Knex {
    this.#assertUsable();
    return super.getKnex();
  }

  override async execute<T>(...args: Parameters<BetterSqliteConnection['execute']>): Promise<T> {
    this.#assertUsable();
    this.#binding!.touch?.();
    return super.execute(...args) as Promise<T>;
  }

  // Not async: on eviction the handle closes in this call, without a promise round per layer.
  override close(force?: boolean): Promise<void> {
    const first = !this.#closed;
    this.#closed = true;
    return first && this.client ? (this.client.client as unknown as TenantKnexDialect).destroy() : Promise.resolve();
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
    if (this.#closed) {
      throw this.#deleted ? TenantError.tenantDeleted(this.#binding.tenantId) : TenantError.tenantClosed(this.#binding.tenantId);
    }
  }
}

/** The MikroORM driver of one tenant: reuses the root ORM's configuration, platform and metadata. */
export class TenantSqliteDriver extends AbstractSqlDriver<TenantSqliteConnection> {
  constructor(config: Configuration) {
    super(config, config.getPlatform() as AbstractSqlPlatform, TenantSqliteConnection, ['knex', 'better-sqlite3']);
  }

  /** Context name of this tenant's EntityManagers: unique per tenant, so MikroORM's contexts never mix tenants. */
  get contextName(): string {
    const tenantId = this.connection.binding?.tenantId;
    return tenantId === undefined ? 'mikro-tenant' : `mikro-tenant:${tenantId}`;
  }

  override setMetadata(metadata: MetadataStorage): void {
    this.metadata = metadata;
    // The configuration caches compiled comparators/mappers: share them instead of recompiling per tenant.
    this.comparator = this.config.getComparator(metadata);
    this.connection.setMetadata(metadata);
  }

  // A tenant driver opens no replica connections: close the one it has, without MikroORM's Promise.all round.
  override close(force?: boolean): Promise<void> {
    return this.replicas.length ? super.close(force) : this.connection.close(force);
  }

  override createEntityManager(useContext?: boolean): TenantEntityManager {
    return new TenantEntityManager(this.config, this, this.metadata, useContext ?? false);
  }
}

/** EntityManager of one tenant; forks keep the tenant (their context name comes from the driver). */
export class TenantEntityManager extends SqlEntityManager<TenantSqliteDriver> {
  constructor(config: Configuration, driver: TenantSqliteDriver, metadata: MetadataStorage, useContext = false, eventManager?: EventManager) {
    super(config, driver, metadata, useContext, eventManager);
    (this as { name: string }).name = driver.contextName;
  }

  /** Canonical id of the tenant this EntityManager belongs to. */
  get tenantId(): string | undefined {
    return this.getDriver().getConnection().binding?.tenantId;
  }
}

/**
 * The EntityManager exposed as `tenancy.em`: every call resolves to the active tenant's fork (or its
 * open transaction) and throws `ERR_NO_TENANT_CONTEXT` outside a tenant scope. It never falls back to
 * another database.
 */
export class TenantContextEntityManager extends TenantEntityManager {
  /** False while MikroORM's constructor runs (it resolves the context to build its helpers). */
  declare private armed?: boolean;

  constructor(config: Configuration, driver: TenantSqliteDriver, metadata: MetadataStorage, useContext = true, eventManager?: EventManager) {
    super(config, driver, metadata, useContext, eventManager);
    this.armed = true;
  }

  override getContext(_validate = true): this {
    if (!this.armed) {
      return this;
    }
    const scope = requireTenantScope<TenantEntityManager>();
    return (TransactionContext.getEntityManager(scope.em.name) ?? scope.em) as this;
  }

  // Outside a scope these return the unbound driver/connection, whose every query throws ERR_NO_TENANT_CONTEXT.
  override getDriver(): TenantSqliteDriver {
    return currentTenantScope() ? this.getContext().getDriver() : super.getDriver();
  }

  override getConnection(type?: ConnectionType): TenantSqliteConnection {
    return currentTenantScope() ? this.getContext().getConnection(type) : super.getConnection(type);
  }
}

/** Creates the context-resolving EntityManager (bound to no tenant; its own driver refuses to query). */
export function createContextEntityManager(config: Configuration, metadata: MetadataStorage, eventManager: EventManager): TenantContextEntityManager {
  const driver = new TenantSqliteDriver(config);
  driver.setMetadata(metadata);
  return new TenantContextEntityManager(config, driver, metadata, true, eventManager);
}

/** Creates a tenant's driver (not connected yet) and its root EntityManager; unbound, it can only generate SQL. */
export function createTenantEntityManager(config: Configuration, metadata: MetadataStorage, eventManager: EventManager, binding?: TenantBinding): TenantEntityManager {
  const driver = new TenantSqliteDriver(config);
  if (binding) {
    driver.getConnection().bind(binding);
  }
  driver.setMetadata(metadata);
  const em = new TenantEntityManager(config, driver, metadata, false, eventManager);
  if (binding) {
    // Forks inherit it: every query this tenant runs is logged as `[query] (tenant:<id>) ...`, and custom
    // loggers get `tenantId` in their context.
    (em as unknown as { loggerContext: Record<string, unknown> }).loggerContext = { label: `tenant:${binding.tenantId}`, tenantId: binding.tenantId };
  }
  return em;
}

/**
 * A configuration for tenant databases derived from the root one: same platform, caches and entity
 * metadata, but its own migrations and schema-generator options. A prototype child, so it costs
 * nothing per tenant and follows the root's caches.
 */
export function deriveTenantConfig(root: Configuration, overrides: Partial<Options>): Configuration {
  const derived = Object.create(root) as Configuration;
  const rootOptions = (root as unknown as { options: Options }).options;
  (derived as unknown as { options: Options }).options = { ...rootOptions, ...overrides };
  return derived;
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

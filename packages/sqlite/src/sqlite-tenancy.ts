import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MikroORM, type Configuration, type EntityMetadata, type Options } from '@mikro-orm/core';
import {
  DeferredTenantRegistry, SqlTenantRegistry, TenancyRegistry, TenantDeletionSubscriber, TenantError, TenantPool, canonicalTenantId,
  currentTenantScope, runInTenantScope,
  type EntityTenantId, type Tenancy, type TenantIdInput, type TenantInfo, type TenantPage, type TenantRecord, type TenantRunOptions, type TenantScope,
} from '@mikro-tenant/core';
import { BetterSqliteDriver, skipTablesInSharedSchema, type SqlEntityManager, type TenantBinding } from './mikro-orm-bridge.js';
import { knexTransactions } from './mikro-orm-6/knex-transactions.js';
import { guardSharedDriver } from './mikro-orm-6/shared-driver-guard.js';
import {
  createContextEntityManager, createTenantEntityManager, deriveTenantConfig, type TenantContextEntityManager, type TenantEntityManager,
} from './mikro-orm-6/tenant-entity-manager.js';
import { followTenantContext } from './mikro-orm-6/global-entity-manager.js';
import { sharedWriteGuard, type StatementGuard } from './mikro-orm-6/shared-write-guard.js';
import {
  outerSharedTransaction, resolveTenantTransactionsInContext, runInTenantContexts, type SqliteTenantScope,
} from './mikro-orm-6/tenant-request-context.js';
import { SharedAccess } from './shared-access.js';
import { assertSharedWal, withSharedConnection } from './shared-connection.js';
import { inOpenTransaction, sharedDatabaseFile } from './shared-database.js';
import { resolveTenancyOptions, type ResolvedTenancyOptions, type SqliteTenancyConfig } from './options.js';
import { handleSetup, pragmaStatements } from './sqlite-setup.js';
import { checkSharedFileApart, entityTenantIdRule, tenantEntityMetadata } from './init-checks.js';
import { DeferredDeletions, TenancyLifecycle } from './tenancy-lifecycle.js';
import { TemplateCache } from './template-cache.js';
import { TemplateSpares } from './template-spares.js';
import { registerTenancyInternals } from './tenancy-tools.js';
import { reconcileWithFolder, withFileStats, type ReconcileReport } from './tenant-inventory.js';
import { TenantFiles, createEmptyFile, fileExists, removeDatabaseFiles, removeStaleTmpFiles } from './tenant-files.js';
import { assertSharedContextName, dropTenantCache, releaseTenantConfig } from './mikro-orm-6/tenant-config.js';
import { classifyModel } from './tenant-model.js';
import { TenantProvisioner } from './tenant-provisioner.js';
import { entitiesSource, migrationsSource, tenantMigrationsConfig, type SchemaApplyResult, type TenantSchemaSource } from './tenant-schema.js';

/** The shared database's ORM: a better-sqlite3 MikroORM whose EntityManager is a `SqlEntityManager`. */
export type SharedORM = MikroORM<BetterSqliteDriver, SqlEntityManager<BetterSqliteDriver>>;

/** Counters returned by {@link SqliteTenancy.stats}. */
export interface TenancyStats {
  /** Tenant connections open now. */
  open: number;
  /** Tenant connections opened since start (cold opens). */
  opened: number;
  /** Tenant files this process created. */
  provisioned: number;
  /** Builds this process threw away because another process placed the tenant's file first. */
  provisionRaces: number;
}

/**
 * One SQLite database file per tenant, for MikroORM. Wraps the shared ORM (users, billing, the tenant
 * registry) and hands out EntityManagers bound to one tenant's file.
 *
 * @example
 * const tenancy = await SqliteTenancy.init({
 *   dbName: 'data/shared.sqlite3',
 *   entities: [User],
 *   tenancy: { dir: 'data/tenants', entities: [Note] },
 * });
 * await tenancy.run('acme', async em => em.find(Note, {}));
 */
export class SqliteTenancy implements Tenancy<TenantEntityManager> {
  /**
   * The shared database's MikroORM instance. Outside a tenant scope its EntityManager refuses per-tenant
   * entities; inside one (`run()`, the Koa middleware) `orm.em` resolves to the tenant's EntityManager.
   */
  readonly orm: SharedORM;
  /** Resolves to the active tenant's EntityManager; throws `ERR_NO_TENANT_CONTEXT` with no tenant active. */
  readonly em: TenantContextEntityManager;
  /** Which tenants exist (a table in the shared database). Refuses every call once `close()` began. */
  readonly registry: TenancyRegistry;
  /** Maps tenant ids to files. */
  readonly files: TenantFiles;
  /** The resolved tenant options. */
  readonly options: ResolvedTenancyOptions;
  /** How tenant databases get their schema (migrations or entity metadata). */
  readonly schema: TenantSchemaSource;
  readonly #config: Configuration;
  /** The registry itself: the tenancy's own work (also while closing) bypasses the gate of {@link registry}. */
  readonly #registry: DeferredTenantRegistry;
  readonly #lifecycle = new TenancyLifecycle();
  readonly #deferredDeletions = new DeferredDeletions();
  /** Which tenant an entity stands for: the one rule of {@link tenantId}. */
  readonly #entityTenantId: EntityTenantId;
  readonly #setup: TenantBinding['setup'];
  readonly #pool: TenantPool<TenantEntityManager>;
  readonly #template?: TemplateCache;
  readonly #spares?: TemplateSpares;
  readonly #provisioner: TenantProvisioner;
  /** The library's own way to the shared database, and the routing of tenants' shared writes. */
  readonly #shared: SharedAccess;
  readonly #guard?: StatementGuard;
  #opened = 0;

  private constructor(init: {
    orm: SharedORM; config: Configuration; options: ResolvedTenancyOptions; files: TenantFiles;
    registry: DeferredTenantRegistry; schema: TenantSchemaSource; setup: TenantBinding['setup']; tenantMeta?: EntityMetadata;
    shared: SharedAccess; guard?: StatementGuard;
  }) {
    this.orm = init.orm;
    this.#config = init.config;
    this.options = init.options;
    this.files = init.files;
    this.#registry = init.registry;
    this.registry = new TenancyRegistry(init.registry, () => this.#lifecycle.assertOpen());
    this.schema = init.schema;
    this.#setup = init.setup;
    this.#shared = init.shared;
    this.#guard = init.guard;
    this.#entityTenantId = entityTenantIdRule(init.tenantMeta, init.options.tenantIdOf);
    this.em = createContextEntityManager(this.#config, this.orm.getMetadata(), this.orm.em.getEventManager(), () => this.#lifecycle.assertOpen());
    this.#pool = new TenantPool(this.options.maxOpen, {
      open: (tenantId, { create }) => this.#open(tenantId, create ?? this.options.autoCreate),
      close: em => {
        if (this.#lifecycle.closing) {
          // Work still holding it learns why: the tenancy closed (not an eviction).
          em.getConnection().markTenancyClosed();
        }
        return em.getConnection().evict();
      },
      onError: (error, tenantId) => this.options.warn(
        `mikro-tenant: closing tenant "${tenantId}" failed: ${(error as Error).message}`, 'MIKRO_TENANT_CLOSE_FAILED'),
    });
    if (this.options.template) {
      this.#template = new TemplateCache(this.files, this.schema.key, async path => { await this.#build(path); });
      this.#spares = new TemplateSpares(this.files, this.#template, this.schema.key);
    }
    this.#provisioner = new TenantProvisioner({
      files: this.files, registry: this.#registry, template: this.#template, spares: this.#spares, version: this.schema.version,
      build: path => this.#build(path), warn: this.options.warn,
    });
    registerTenancyInternals(this, {
      files: this.files, schema: this.schema, config: this.#config, setup: this.#setup, guard: this.#guard,
      busy: id => this.#pool.has(id) || this.#provisioner.pending(id) !== undefined,
      track: fn => this.#lifecycle.track(fn),
    });
  }

  /**
   * Starts the shared ORM (with the per-tenant entities guarded) and prepares the tenant folder and registry.
   * Metadata discovery happens here, once; nothing of it is repeated per tenant. Every option is checked
   * before the first side effect (the shared database's connection, the tenant folder, the registry
   * table), the ones that need the discovered model right after discovery.
   *
   * @throws TenantError `ERR_INVALID_OPTION` for bad tenant options
   */
  static async init(config: SqliteTenancyConfig): Promise<SqliteTenancy> {
    const { tenancy, ...ormOptions } = config;
    const options = resolveTenancyOptions(tenancy, ormOptions.baseDir);
    const files = new TenantFiles(options.dir, options.namePattern, options);
    // Reads the migrations folder (nothing is written): a bad `path` fails here.
    const migrations = options.migrations ? migrationsSource(options.migrations) : undefined;
    const tenantNames = new Set<string>();
    const Driver = guardSharedDriver((ormOptions.driver ?? BetterSqliteDriver) as typeof BetterSqliteDriver, name => tenantNames.has(name));
    const entities = [...(ormOptions.entities ?? [])];
    for (const entity of options.entities) {
      if (!entities.includes(entity as never)) {
        entities.push(entity as never);
      }
    }
    assertSharedContextName(ormOptions.contextName);
    // Discovery only: the connection waits until the options that need the model are checked.
    const orm = await MikroORM.init(withSharedConnection({ ...ormOptions, entities, driver: Driver, connect: false } as Options, options.sharedPragmas)) as unknown as SharedORM;
    try {
      return await SqliteTenancy.#afterDiscovery(orm, { options, files, migrations, tenantNames, connect: ormOptions.connect ?? true });
    } catch (error) {
      releaseTenantConfig(orm.config);
      await orm.close(true);
      throw error;
    }
  }

  static async #afterDiscovery(orm: SharedORM, init: {
    options: ResolvedTenancyOptions; files: TenantFiles; migrations?: TenantSchemaSource; tenantNames: Set<string>; connect: boolean;
  }): Promise<SqliteTenancy> {
    const { options, files, tenantNames } = init;
    const metadata = orm.getMetadata();
    const { tenantTables, sharedTables, referencesShared } = classifyModel(metadata, options.entities, tenantNames);
    const tenantMeta = tenantEntityMetadata(metadata, options.tenantEntity, tenantNames);
    const sharedFile = sharedDatabaseFile(orm.config.get('dbName'), orm.config.get('baseDir'));
    checkSharedFileApart(files, sharedFile);
    const attachAs = options.attach ?? (referencesShared ? 'shared' : false);
    if (attachAs && !sharedFile) {
      throw TenantError.invalidOption('tenancy.attach', 'attaching needs the shared database in a file (dbName), not in memory');
    }

    // Side effects from here on.
    orm.config.set('connect', init.connect);
    if (init.connect) {
      await orm.connect();
      if (orm.config.get('ensureIndexes')) {
        await orm.schema.ensureIndexes();
      }
    }
    if (attachAs) {
      await assertSharedWal(orm);
    }
    // Inside tenant scopes MikroORM's contexts resolve the shared ORM's name to the tenant; library work
    // on the shared database goes through `shared` instead.
    const shared = new SharedAccess(orm, name => !tenantNames.has(name) && metadata.has(name));
    resolveTenantTransactionsInContext(orm.config, orm.em.name);
    followTenantContext(orm.em);
    const generator = orm.config.get('schemaGenerator');
    // The registry table is not an entity: keep schema updates of the shared ORM from dropping it.
    skipTablesInSharedSchema(orm, [...tenantTables, options.registryTable]);
    files.ensureDirs();
    await removeStaleTmpFiles(files);
    const config = deriveTenantConfig(orm.config, {
      dbName: join(files.internalDir, 'schema.sqlite3'),
      migrations: options.migrations
        ? { ...orm.config.get('migrations'), migrationsList: undefined, ...tenantMigrationsConfig(options.migrations) }
        : orm.config.get('migrations'),
      schemaGenerator: generator,
      sharedTables,
    });
    const schema = init.migrations ?? await entitiesSource(createTenantEntityManager(config, metadata, orm.em.getEventManager()));
    const registry = new DeferredTenantRegistry(
      new SqlTenantRegistry(() => shared.em(), options.registryTable, knexTransactions),
      (error, records) => options.warn(`mikro-tenant: tenants ${records.map(r => `"${r.tenantId}"`).join(', ')} were created but could not be `
        + `registered (${(error as Error).message}); run reconcile({ fix: true }) or \`mikro-tenant reconcile --fix\`.`, 'MIKRO_TENANT_REGISTRY'),
    );
    await registry.ensure();
    const setup = handleSetup({ pragmas: pragmaStatements(options.pragmas), attachFile: attachAs ? sharedFile : undefined, attachAs: attachAs || undefined });
    const guard = attachAs ? sharedWriteGuard(attachAs, [...sharedTables, options.registryTable]) : undefined;
    const tenancy = new SqliteTenancy({ orm, config, options, files, registry, schema, setup, tenantMeta, shared, guard });
    if (options.tenantEntity) {
      orm.em.getEventManager().registerSubscriber(new TenantDeletionSubscriber({
        entity: options.tenantEntity,
        enabled: options.deleteOnTenantDelete,
        tenantIdOf: entity => tenancy.tenantId(entity),
        // A removal flushed by a tenant EntityManager is checked on the shared connection, not through ATTACH.
        checkWith: em => (em.getDriver() === orm.em.getDriver() ? em.fork() : shared.em().fork({ keepTransactionContext: true })),
        warn: message => options.warn(message, 'MIKRO_TENANT_DELETION'),
        deleteTenant: async id => { await tenancy.deleteTenant(id); },
        transactions: knexTransactions,
      }));
    }
    return tenancy;
  }

  /** Number of tenant connections open in this process. */
  get openTenants(): number {
    return this.#pool.size;
  }

  /** Counters of this process, for monitoring and tests. */
  stats(): TenancyStats {
    return { open: this.#pool.size, opened: this.#opened, provisioned: this.#provisioner.provisioned, provisionRaces: this.#provisioner.races };
  }

  /**
   * The canonical id of a tenant input, by the one rule every method here, the Koa middleware and the
   * deletion subscriber use: strings and numbers as they are; a `tenantEntity` row through `tenantIdOf`
   * (default: its primary key). With a `tenantEntity` set, entities of other classes are refused; without
   * one, an entity stands for its primary key. Pure: it touches nothing, also after `close()`.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  tenantId(input: TenantIdInput): string {
    return canonicalTenantId(input, this.#entityTenantId);
  }

  /**
   * A new EntityManager fork bound to one tenant, creating the tenant first when `autoCreate` is on.
   * The connection is not leased, and its queries do not count as use of the tenant (only leases do, for
   * the pool's least-recently-used order): for work that must not race eviction, prefer {@link run}.
   *
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   */
  async fork(tenantId: TenantIdInput): Promise<TenantEntityManager> {
    this.#lifecycle.assertOpen();
    const lease = await this.#pool.acquire(this.tenantId(tenantId));
    try {
      return lease.handle.fork();
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` as the tenant: `tenancy.em` resolves to a fresh fork of the tenant (also passed to `fn`), and
   * so do MikroORM's own idioms (`RequestContext.getEntityManager()`, the global `orm.em`, an EntityManager
   * injected from it, `@CreateRequestContext()`), or to its open transaction; `{ sharedContext: false }`
   * leaves MikroORM's contexts alone. The tenant's connection stays open until `fn` settles. For jobs,
   * scripts and tests (the Koa middleware does the same per request).
   * If `fn` deletes this very tenant (`deleteTenant()`, or removing its tenant entity with
   * `deleteOnTenantDelete`), the deletion happens once `fn` has settled, and `run()` resolves after it.
   *
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   * @example
   * await tenancy.run(user.id, async em => { em.create(Note, { text: 'hi', author: user.id }); await em.flush(); });
   */
  async run<T>(tenantId: TenantIdInput, fn: (em: TenantEntityManager) => T | Promise<T>, options: TenantRunOptions = {}): Promise<T> {
    this.#lifecycle.assertOpen();
    const id = this.tenantId(tenantId);
    // An open tenant is leased without a promise round; the lease is what marks it used (not each statement).
    const lease = this.#pool.tryAcquire(id) ?? await this.#pool.acquire(id, { create: options.create });
    let scope: TenantScope<TenantEntityManager> | undefined;
    try {
      const em = lease.handle.fork();
      const contexts = options.sharedContext !== false;
      const sharedName = contexts ? this.orm.em.name : undefined;
      const entered: SqliteTenantScope<TenantEntityManager> = {
        tenantId: id, em, outer: currentTenantScope(), sharedName, outerShared: sharedName ? outerSharedTransaction(sharedName) : undefined,
      };
      scope = entered;
      this.#deferredDeletions.own(entered);
      if (contexts) {
        return await runInTenantContexts(this.orm.em.name, entered, () => fn(em));
      }
      return await runInTenantScope(entered, () => fn(em));
    } finally {
      lease.release();
      if (scope && this.#deferredDeletions.take(id, scope)) {
        await this.#deleteAfterOwnRun(id);
      }
    }
  }

  /**
   * Creates a tenant's database (from the template, or by migrating) and registers it: the registry row
   * is written when this resolves (inside a transaction of the shared ORM, just after that transaction,
   * which holds the connection; a failed write warns with `MIKRO_TENANT_REGISTRY`).
   * @throws TenantError `ERR_TENANT_EXISTS` when its database exists (it is never overwritten),
   *   `ERR_TENANT_PROVISIONING_FAILED` (a failing migration as its `cause`), `ERR_TENANCY_CLOSED`
   */
  async createTenant(tenantId: TenantIdInput): Promise<TenantRecord> {
    return this.#lifecycle.track(async () => {
      const id = this.tenantId(tenantId);
      const { created, record } = await this.#provisioner.provision(id, true);
      if (!created) {
        throw TenantError.tenantExists(id);
      }
      if (!inOpenTransaction(this.#shared.em())) {
        await this.#registry.flush();
      }
      return record;
    });
  }

  /**
   * Deletes a tenant: waits up to `deleteGraceMs` for work holding it, closes its connection, removes
   * its database with the `-wal`/`-shm`/`-journal` files, and its registry row. Resolves false when
   * there was nothing to delete. Use it after `nativeDelete()`/QueryBuilder deletes, which fire no events.
   *
   * Called inside the tenant's own `run()` (or the Koa request serving it), it does not wait on that
   * run's own lease: it resolves at once (true when the tenant's file exists) and the deletion happens
   * when that `run()` settles; await the `run()` (the request) to see it done.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANCY_CLOSED`
   */
  deleteTenant(tenantId: TenantIdInput): Promise<boolean> {
    let id: string;
    try {
      this.#lifecycle.assertOpen();
      id = this.tenantId(tenantId);
      const holder = this.#deferredDeletions.holder(id);
      if (holder) {
        this.#deferredDeletions.defer(id, holder);
        return Promise.resolve(fileExists(this.files.path(id)));
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // Not async: the caller resumes as soon as the files are gone, before work queued behind the deletion
    // (which may provision the tenant afresh) gets its turn.
    return this.#lifecycle.trackInternal(this.#deleteNow(id));
  }

  /**
   * True when the tenant's database file exists.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANCY_CLOSED`
   */
  async tenantExists(tenantId: TenantIdInput): Promise<boolean> {
    this.#lifecycle.assertOpen();
    return fileExists(this.files.path(this.tenantId(tenantId)));
  }

  /**
   * Registered tenants in id order, with the size and modification time of their files (database plus
   * `-wal`): all of them, or one page (`{ after: lastIdOfThePreviousPage, limit }`), which costs the same
   * whatever the number of tenants.
   * @throws TenantError `ERR_INVALID_OPTION` for a bad page, `ERR_TENANCY_CLOSED`
   */
  async listTenants(page?: TenantPage): Promise<TenantInfo[]> {
    return this.#lifecycle.track(async () => withFileStats(this.files.dir, await this.#registry.list(page)));
  }

  /**
   * Compares the registry with the files in the folder; with `fix`, registers stray files and drops rows without files.
   * @throws TenantError `ERR_TENANCY_CLOSED`
   */
  async reconcile(options: { fix?: boolean } = {}): Promise<ReconcileReport> {
    return this.#lifecycle.track(() => reconcileWithFolder(this.files, this.#registry, options.fix ?? false));
  }

  /**
   * Names of the migrations not yet applied to a tenant (with a schema from the entities: `['schema']` when its tables lag behind).
   * @throws TenantError `ERR_TENANCY_CLOSED`
   */
  async pendingMigrations(tenantId: TenantIdInput): Promise<string[]> {
    return this.#lifecycle.track(() => this.run(tenantId, em => this.schema.pending(em), { sharedContext: false }));
  }

  /**
   * Applies pending migrations to one tenant (in one transaction) and records its schema version.
   * @throws TenantError `ERR_TENANT_MIGRATION_FAILED` (the tenant is rolled back), `ERR_TENANCY_CLOSED`
   */
  async migrateTenant(tenantId: TenantIdInput): Promise<SchemaApplyResult> {
    return this.#lifecycle.track(async () => {
      const id = this.tenantId(tenantId);
      const result = await this.run(id, em => this.schema.apply(em), { sharedContext: false });
      await this.#registry.setSchemaVersion(id, result.version);
      return result;
    });
  }

  /**
   * Builds the template for the current schema now (it is otherwise built on the first provisioning), and
   * the spare copies new tenants are provisioned from; resolves when both are ready (so a deploy step or a
   * test that calls it finds the next new tenant at the link floor). @throws TenantError `ERR_TENANCY_CLOSED`
   */
  async buildTemplate(): Promise<string | undefined> {
    return this.#lifecycle.track(async () => {
      const path = await this.#template?.ensure();
      this.#spares?.fill();
      await this.#spares?.settle();
      return path;
    });
  }

  /** Removes the template files and the spare copies of it; the next provisioning rebuilds the template. @throws TenantError `ERR_TENANCY_CLOSED` */
  async clearTemplate(): Promise<number> {
    return this.#lifecycle.track(async () => {
      await this.#spares?.clear();
      return (await this.#template?.clear()) ?? 0;
    });
  }

  /**
   * Closes the tenancy: from the moment it is called every method (and `tenancy.em`, `tenancy.registry`)
   * rejects with `ERR_TENANCY_CLOSED`; operations under way finish first (a deletion within its grace
   * period), then every tenant connection is closed (work still holding one gets `ERR_TENANCY_CLOSED`),
   * deletions asked for inside a `run()` still going are done, queued registry rows are written and the
   * shared ORM is closed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      await this.#pool.close();
      for (const id of this.#deferredDeletions.takeAll()) {
        await this.#deleteReporting(id);
      }
      await this.#lifecycle.settle();
      await this.#provisioner.settle();
      await this.#spares?.close();
      await this.#registry.flush();
      releaseTenantConfig(this.orm.config);
      await this.orm.close(true);
    });
  }

  async #deleteNow(id: string): Promise<boolean> {
    const file = this.files.path(id);
    await this.#provisioner.pending(id)?.catch(() => undefined);
    this.#pool.peek(id)?.getConnection().markDeleted();
    let existed = false;
    await this.#pool.retire(id, this.options.deleteGraceMs, async () => {
      await dropTenantCache(this.#config, id);
      existed = await removeDatabaseFiles(file);
      existed = (await this.#registry.unregister(id)) || existed;
    });
    return existed;
  }

  /** The deletion a tenant's own run() asked for, now that the run has settled; close() waits for it. */
  #deleteAfterOwnRun(id: string): Promise<void> {
    return this.#lifecycle.trackInternal(this.#deleteReporting(id));
  }

  /** Deletes without rejecting: whoever asked has had their answer already, so a failure is a warning. */
  async #deleteReporting(id: string): Promise<void> {
    try {
      await this.#deleteNow(id);
    } catch (error) {
      this.options.warn(`mikro-tenant: deleting tenant "${id}" failed: ${(error as Error).message}`, 'MIKRO_TENANT_DELETION');
    }
  }

  async #open(tenantId: string, mayCreate: boolean): Promise<TenantEntityManager> {
    const file = this.files.path(tenantId);
    // A stat first (a few us for an existing tenant) spares a new tenant a failed open (tens of us).
    let provisioned = false;
    if (mayCreate && !fileExists(file)) {
      await this.#provisioner.provision(tenantId, false);
      provisioned = true;
    }
    const em = createTenantEntityManager(this.#config, this.orm.getMetadata(), this.orm.em.getEventManager(), {
      tenantId, file, setup: this.#setup, sharedWrites: this.#shared.router, guard: this.#guard,
    });
    // The file may still vanish or appear (other processes) before the open: the loop settles that.
    for (let attempt = 0; ; attempt++) {
      let failure: TenantError | undefined;
      try {
        em.getConnection().open();
        this.#opened++;
        return em;
      } catch (error) {
        if (fileExists(file)) {
          // Another process may have placed the file between the failed open and this check: open it again.
          if (attempt < 2) {
            continue;
          }
          failure = TenantError.openFailed(tenantId, error);
        } else if (!mayCreate || provisioned) {
          failure = TenantError.tenantNotFound(tenantId);
        }
      }
      try {
        if (failure) {
          throw failure;
        }
        await this.#provisioner.provision(tenantId, false);
        provisioned = true;
      } catch (error) {
        await em.getDriver().close().catch(() => undefined);
        throw error;
      }
    }
  }

  /** Builds an up-to-date empty database at `path` (a tmp path) by applying the schema. */
  async #build(path: string): Promise<string | null> {
    if (!fileExists(path)) {
      // SQLite creates files 0644 and keeps the mode of an existing one: start from an owner-only empty file.
      createEmptyFile(path, this.files.modes.fileMode);
    }
    const em = createTenantEntityManager(this.#config, this.orm.getMetadata(), this.orm.em.getEventManager(), {
      tenantId: '(build)', file: path, setup: this.#setup, create: true,
    });
    try {
      return (await this.schema.apply(em)).version;
    } finally {
      await em.getDriver().close();
      await fsp.rm(`${path}-shm`, { force: true });
    }
  }
}

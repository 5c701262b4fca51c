import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MikroORM, type Configuration, type Options } from '@mikro-orm/core';
import {
  DeferredTenantRegistry, SqlTenantRegistry, TenantDeletionSubscriber, TenantError, TenantPool, canonicalTenantId, runInTenantScope,
  type Tenancy, type TenantIdInput, type TenantInfo, type TenantRecord, type TenantRunOptions,
} from '@mikro-tenant/core';
import { BetterSqliteDriver, skipTablesInSharedSchema, type SqlEntityManager, type TenantBinding } from './mikro-orm-bridge.js';
import { knexTransactions } from './mikro-orm-6/knex-transactions.js';
import { guardSharedDriver } from './mikro-orm-6/shared-driver-guard.js';
import {
  createContextEntityManager, createTenantEntityManager, deriveTenantConfig, type TenantContextEntityManager, type TenantEntityManager,
} from './mikro-orm-6/tenant-entity-manager.js';
import { hasRequestContextFor, runInLazyRequestContext } from './lazy-request-context.js';
import { inOpenTransaction, sharedDatabaseFile, withSharedPragmas } from './shared-database.js';
import { resolveTenancyOptions, type ResolvedTenancyOptions, type SqliteTenancyConfig } from './options.js';
import { handleSetup, pragmaStatements } from './sqlite-setup.js';
import { TemplateCache } from './template-cache.js';
import { TenantFiles, fileExists, removeDatabaseFiles, removeStaleTmpFiles } from './tenant-files.js';
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

/** What {@link SqliteTenancy.reconcile} found when comparing the registry with the tenant folder. */
export interface ReconcileReport {
  /** Registered tenants whose database file is missing. */
  missingFiles: string[];
  /** Tenant files in the folder with no registry row. */
  unregistered: string[];
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
  /** The shared database's MikroORM instance. Its EntityManager refuses per-tenant entities. */
  readonly orm: SharedORM;
  /** Resolves to the active tenant's EntityManager; throws `ERR_NO_TENANT_CONTEXT` with no tenant active. */
  readonly em: TenantContextEntityManager;
  /** Which tenants exist (a table in the shared database). */
  readonly registry: DeferredTenantRegistry;
  /** Maps tenant ids to files. */
  readonly files: TenantFiles;
  /** The resolved tenant options. */
  readonly options: ResolvedTenancyOptions;
  /** How tenant databases get their schema (migrations or entity metadata). */
  readonly schema: TenantSchemaSource;
  readonly #config: Configuration;
  readonly #setup: TenantBinding['setup'];
  readonly #pool: TenantPool<TenantEntityManager>;
  readonly #template?: TemplateCache;
  readonly #provisioner: TenantProvisioner;
  #opened = 0;

  private constructor(init: {
    orm: SharedORM; config: Configuration; options: ResolvedTenancyOptions; files: TenantFiles;
    registry: DeferredTenantRegistry; schema: TenantSchemaSource; setup: TenantBinding['setup'];
  }) {
    this.orm = init.orm;
    this.#config = init.config;
    this.options = init.options;
    this.files = init.files;
    this.registry = init.registry;
    this.schema = init.schema;
    this.#setup = init.setup;
    this.em = createContextEntityManager(this.#config, this.orm.getMetadata(), this.orm.em.getEventManager());
    this.#pool = new TenantPool(this.options.maxOpen, {
      open: (tenantId, { create }) => this.#open(tenantId, create ?? this.options.autoCreate),
      close: em => em.getConnection().evict(),
      onError: (error, tenantId) => this.options.warn(
        `mikro-tenant: closing tenant "${tenantId}" failed: ${(error as Error).message}`, 'MIKRO_TENANT_CLOSE_FAILED'),
    });
    if (this.options.template) {
      this.#template = new TemplateCache(this.files, this.schema.key, async path => { await this.#build(path); });
    }
    this.#provisioner = new TenantProvisioner({
      files: this.files, registry: this.registry, template: this.#template, version: this.schema.version,
      build: path => this.#build(path), warn: this.options.warn,
    });
  }

  /**
   * Starts the shared ORM (with the per-tenant entities guarded) and prepares the tenant folder and registry.
   * Metadata discovery happens here, once; nothing of it is repeated per tenant.
   *
   * @throws TenantError `ERR_INVALID_OPTION` for bad tenant options
   */
  static async init(config: SqliteTenancyConfig): Promise<SqliteTenancy> {
    const { tenancy, ...ormOptions } = config;
    const options = resolveTenancyOptions(tenancy, ormOptions.baseDir);
    const tenantNames = new Set<string>();
    const Driver = guardSharedDriver((ormOptions.driver ?? BetterSqliteDriver) as typeof BetterSqliteDriver, name => tenantNames.has(name));
    const entities = [...(ormOptions.entities ?? [])];
    for (const entity of options.entities) {
      if (!entities.includes(entity as never)) {
        entities.push(entity as never);
      }
    }
    assertSharedContextName(ormOptions.contextName);
    const orm = await MikroORM.init(withSharedPragmas({ ...ormOptions, entities, driver: Driver } as Options, options.sharedPragmas)) as unknown as SharedORM;
    try {
      return await SqliteTenancy.#afterDiscovery(orm, options, tenantNames);
    } catch (error) {
      releaseTenantConfig(orm.config);
      await orm.close(true);
      throw error;
    }
  }

  static async #afterDiscovery(orm: SharedORM, options: ResolvedTenancyOptions, tenantNames: Set<string>): Promise<SqliteTenancy> {
    const metadata = orm.getMetadata();
    const { tenantTables, sharedTables, referencesShared } = classifyModel(metadata, options.entities, tenantNames);
    const generator = orm.config.get('schemaGenerator');
    // The registry table is not an entity: keep schema updates of the shared ORM from dropping it.
    skipTablesInSharedSchema(orm, [...tenantTables, options.registryTable]);

    const attachAs = options.attach ?? (referencesShared ? 'shared' : false);
    const sharedFile = attachAs ? sharedDatabaseFile(orm) : undefined;
    const files = new TenantFiles(options.dir, options.namePattern);
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
    const schema = options.migrations
      ? migrationsSource(options.migrations)
      : await entitiesSource(createTenantEntityManager(config, metadata, orm.em.getEventManager()));
    const registry = new DeferredTenantRegistry(
      new SqlTenantRegistry(() => orm.em.getContext(false), options.registryTable, knexTransactions),
      (error, records) => options.warn(`mikro-tenant: tenants ${records.map(r => `"${r.tenantId}"`).join(', ')} were created but could not be `
        + `registered (${(error as Error).message}); run reconcile({ fix: true }) or \`mikro-tenant reconcile --fix\`.`, 'MIKRO_TENANT_REGISTRY'),
    );
    await registry.ensure();
    const setup = handleSetup({ pragmas: pragmaStatements(options.pragmas), attachFile: sharedFile, attachAs: attachAs || undefined });
    const tenancy = new SqliteTenancy({ orm, config, options, files, registry, schema, setup });
    if (options.tenantEntity) {
      orm.em.getEventManager().registerSubscriber(new TenantDeletionSubscriber({
        entity: options.tenantEntity,
        enabled: options.deleteOnTenantDelete,
        tenantIdOf: options.tenantIdOf,
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
   * A new EntityManager fork bound to one tenant, creating the tenant first when `autoCreate` is on.
   * The connection is not leased: for work that must not race eviction, prefer {@link run}.
   *
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`
   */
  async fork(tenantId: TenantIdInput): Promise<TenantEntityManager> {
    const lease = await this.#pool.acquire(canonicalTenantId(tenantId));
    try {
      return lease.handle.fork();
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` as the tenant: `tenancy.em` resolves to a fresh fork of the tenant (also passed to `fn`),
   * the shared `orm.em` gets a request context if it has none (its fork is made on first use), and the tenant's connection stays open
   * until `fn` settles. For jobs, scripts and tests (the Koa middleware does the same per request).
   *
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`
   * @example
   * await tenancy.run(user.id, async em => { em.create(Note, { text: 'hi', author: user.id }); await em.flush(); });
   */
  async run<T>(tenantId: TenantIdInput, fn: (em: TenantEntityManager) => T | Promise<T>, options: TenantRunOptions = {}): Promise<T> {
    const id = canonicalTenantId(tenantId);
    const lease = await this.#pool.acquire(id, { create: options.create });
    try {
      const em = lease.handle.fork();
      const inScope = () => runInTenantScope({ tenantId: id, em }, () => fn(em));
      if (options.sharedContext !== false && !hasRequestContextFor(this.orm.em)) {
        return await runInLazyRequestContext(this.orm.em, inScope);
      }
      return await inScope();
    } finally {
      lease.release();
    }
  }

  /**
   * Creates a tenant's database (from the template, or by migrating) and registers it: the registry row
   * is written when this resolves (inside a transaction of the shared ORM, just after that transaction,
   * which holds the connection; a failed write warns with `MIKRO_TENANT_REGISTRY`).
   * @throws TenantError `ERR_TENANT_EXISTS` when its database exists (it is never overwritten)
   */
  async createTenant(tenantId: TenantIdInput): Promise<TenantRecord> {
    const id = canonicalTenantId(tenantId);
    const { created, record } = await this.#provisioner.provision(id, true);
    if (!created) {
      throw TenantError.tenantExists(id);
    }
    if (!inOpenTransaction(this.orm.em)) {
      await this.registry.flush();
    }
    return record;
  }

  /**
   * Deletes a tenant: waits up to `deleteGraceMs` for work holding it, closes its connection, removes
   * its database with the `-wal`/`-shm`/`-journal` files, and its registry row. Resolves false when
   * there was nothing to delete. Use it after `nativeDelete()`/QueryBuilder deletes, which fire no events.
   */
  async deleteTenant(tenantId: TenantIdInput): Promise<boolean> {
    const id = canonicalTenantId(tenantId);
    const file = this.files.path(id);
    await this.#provisioner.pending(id)?.catch(() => undefined);
    this.#pool.peek(id)?.getConnection().markDeleted();
    let existed = false;
    await this.#pool.retire(id, this.options.deleteGraceMs, async () => {
      await dropTenantCache(this.#config, id);
      existed = await removeDatabaseFiles(file);
      existed = (await this.registry.unregister(id)) || existed;
    });
    return existed;
  }

  /** True when the tenant's database file exists. */
  async tenantExists(tenantId: TenantIdInput): Promise<boolean> {
    return fileExists(this.files.path(tenantId));
  }

  /** Registered tenants with the size and modification time of their files (database plus `-wal`). */
  async listTenants(): Promise<TenantInfo[]> {
    const records = await this.registry.list();
    return Promise.all(records.map(async record => {
      const path = join(this.files.dir, record.location);
      const [db, wal] = await Promise.all([path, `${path}-wal`].map(p => fsp.stat(p).catch(() => undefined)));
      if (!db) {
        return record;
      }
      // Recent writes sit in the -wal file until a checkpoint: count them in.
      const modifiedAt = wal && wal.mtime > db.mtime ? wal.mtime : db.mtime;
      return { ...record, sizeBytes: db.size + (wal?.size ?? 0), modifiedAt };
    }));
  }

  /** Compares the registry with the files in the folder; with `fix`, registers stray files and drops rows without files. */
  async reconcile(options: { fix?: boolean } = {}): Promise<ReconcileReport> {
    const [records, ids] = await Promise.all([this.registry.list(), this.files.scan()]);
    const registered = new Set(records.map(r => r.tenantId));
    const present = new Set(ids);
    const report = {
      missingFiles: records.map(r => r.tenantId).filter(id => !present.has(id)),
      unregistered: ids.filter(id => !registered.has(id)),
    };
    if (options.fix) {
      for (const id of report.unregistered) {
        await this.registry.register({ tenantId: id, location: this.files.fileName(id), schemaVersion: null });
      }
      for (const id of report.missingFiles) {
        await this.registry.unregister(id);
      }
    }
    return report;
  }

  /** Names of the migrations not yet applied to a tenant (with a schema from the entities: `['schema']` when its tables lag behind). */
  async pendingMigrations(tenantId: TenantIdInput): Promise<string[]> {
    return this.run(tenantId, em => this.schema.pending(em), { sharedContext: false });
  }

  /**
   * Applies pending migrations to one tenant (in one transaction) and records its schema version.
   * @throws TenantError `ERR_TENANT_MIGRATION_FAILED` (the tenant is rolled back)
   */
  async migrateTenant(tenantId: TenantIdInput): Promise<SchemaApplyResult> {
    const id = canonicalTenantId(tenantId);
    const result = await this.run(id, em => this.schema.apply(em), { sharedContext: false });
    await this.registry.setSchemaVersion(id, result.version);
    return result;
  }

  /** Builds the template for the current schema now (it is otherwise built on the first provisioning). */
  async buildTemplate(): Promise<string | undefined> {
    return this.#template?.ensure();
  }

  /** Removes the template files; the next provisioning rebuilds the template. */
  async clearTemplate(): Promise<number> {
    return (await this.#template?.clear()) ?? 0;
  }

  /** Closes every tenant connection, writes the registry rows still queued, then closes the shared ORM. */
  async close(): Promise<void> {
    await this.#pool.close();
    await this.#provisioner.settle();
    await this.registry.flush();
    releaseTenantConfig(this.orm.config);
    await this.orm.close(true);
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
      tenantId, file, setup: this.#setup, touch: () => this.#pool.touch(tenantId),
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

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MikroORM, type Configuration, type EntityManager, type EntityMetadata, type IDatabaseDriver, type Options } from '@mikro-orm/core';
import {
  AbstractTenancy, DeferredTenantRegistry, TenantDeletionSubscriber, TenantError, resolveTenantTransactionsInContext,
  type TenancyStrategy,
  type TenancyStats as CoreTenancyStats,
} from '@mikro-tenant/core';
import { metadataByName } from './entity-metadata.js';
import { assertSharedContextName, followTenantContext, sqliteDatabaseFile } from '@mikro-tenant/sql';
import { loadOrmAdapter, type OrmAdapter, type SharedSchemaTools, type TenantBinding } from './orm-adapter.js';
import { sharedWriteGuard } from './shared-write-guard.js';
import type { TenantContextEntityManager, TenantEntityManager } from './tenant-entity-manager.js';
import { SharedAccess } from './shared-access.js';
import { SharedSqliteRegistry } from './shared-registry.js';
import { assertSharedWal, withSharedConnection } from './shared-connection.js';
import { resolveTenancyOptions, type ResolvedTenancyOptions, type SqliteTenancyConfig } from './options.js';
import { handleSetup, pragmaStatements } from './sqlite-setup.js';
import { SqliteStrategy } from './sqlite-strategy.js';
import type { TenancyInternals } from './tenancy-tools.js';
import { SqliteAdmin } from './admin/sqlite-admin.js';
import { checkSharedFileApart, entityTenantIdRule, tenantEntityMetadata } from './init-checks.js';
import type { ReconcileReport } from './tenant-inventory.js';
import { TenantFiles, removeStaleTmpFiles } from './tenant-files.js';
import { classifyModel } from './tenant-model.js';
import { entitiesSource, migrationsSource, tenantMigrationsConfig, type TenantSchemaSource } from './tenant-schema.js';

/**
 * The shared database's ORM (MikroORM 6's `BetterSqliteDriver` or 7's `SqliteDriver`, guarded), typed with
 * the EntityManager class given to {@link SqliteTenancy.init} (`@mikro-orm/core`'s `EntityManager` unless set).
 */
export type SharedORM<EM extends EntityManager = EntityManager> = MikroORM<IDatabaseDriver, EM>;

/** Counters returned by {@link SqliteTenancy.stats} (tenant connections open and opened, files provisioned, races lost). */
export type TenancyStats = CoreTenancyStats;

/**
 * One SQLite database file per tenant, for MikroORM. Wraps the shared ORM (users, billing, the tenant
 * registry) and hands out EntityManagers bound to one tenant's file. Everything but the files is
 * `AbstractTenancy`'s (core); the files, templates and connections are {@link SqliteStrategy}'s.
 *
 * @example
 * const tenancy = await SqliteTenancy.init({
 *   dbName: 'data/shared.sqlite3',
 *   entities: [User],
 *   tenancy: { dir: 'data/tenants', entities: [Note] },
 * });
 * await tenancy.run('acme', async em => em.find(Note, {}));
 */
export class SqliteTenancy<EM extends EntityManager = EntityManager> extends AbstractTenancy<TenantEntityManager<EM>, ReconcileReport> {
  /**
   * The shared database's MikroORM instance. Outside a tenant scope its EntityManager refuses per-tenant
   * entities; inside one (`run()`, the Koa middleware) `orm.em` resolves to the tenant's EntityManager.
   */
  declare readonly orm: SharedORM<EM>;
  /** Resolves to the active tenant's EntityManager; throws `ERR_NO_TENANT_CONTEXT` with no tenant active. */
  declare readonly em: TenantContextEntityManager<EM>;
  /** Maps tenant ids to files. */
  readonly files: TenantFiles;
  /** The resolved tenant options. */
  readonly options: ResolvedTenancyOptions;
  /** How tenant databases get their schema (migrations or entity metadata). */
  readonly schema: TenantSchemaSource;
  /**
   * The shared database's schema generator (`orm.schema`) under names that are the same on MikroORM 6 and 7:
   * `create()`, `update()`, `drop()` (MikroORM 6 calls them `createSchema()`..., 7 `create()`...).
   * @example
   * await tenancy.sharedSchema.update(); // the shared tables (use migrations in production)
   */
  readonly sharedSchema: SharedSchemaTools;
  readonly #strategy: SqliteStrategy;
  readonly #internals: TenancyInternals;
  #admin?: SqliteAdmin;

  private constructor(init: {
    orm: SharedORM; adapter: OrmAdapter; config: Configuration; options: ResolvedTenancyOptions; files: TenantFiles; strategy: SqliteStrategy;
    registry: DeferredTenantRegistry; schema: TenantSchemaSource; tenantMeta?: EntityMetadata;
    setup: TenantBinding['setup']; guard?: TenantBinding['guard'];
  }) {
    super({
      orm: init.orm as never,
      strategy: init.strategy as unknown as TenancyStrategy<TenantEntityManager<EM>, ReconcileReport>,
      registry: init.registry,
      contextEntityManager: assertUsable => init.adapter.createContextEntityManager<EM>(init.config, init.orm.getMetadata(), init.orm.em.getEventManager(), assertUsable),
      entityTenantId: entityTenantIdRule(init.tenantMeta, init.options.tenantIdOf),
      maxOpen: init.options.maxOpen,
      autoCreate: init.options.autoCreate,
      deleteGraceMs: init.options.deleteGraceMs,
      warn: init.options.warn,
      operating: init.options,
    });
    this.options = init.options;
    this.files = init.files;
    this.schema = init.schema;
    this.sharedSchema = init.adapter.sharedSchema(init.orm);
    this.#strategy = init.strategy;
    this.#internals = {
      files: this.files, schema: this.schema, config: init.config, setup: init.setup, guard: init.guard,
      busy: id => this.pool.has(id) || init.strategy.provisioning.pending(id) !== undefined,
      track: fn => this.lifecycle.track(fn),
      templatePath: () => init.strategy.template?.path,
    };
  }

  /**
   * The strategy's admin operations, for tools such as the `mikro-tenant` CLI (`@mikro-tenant/cli`):
   * tenant files, migrations without the registry, backups and restores. Not needed by apps.
   */
  admin(): SqliteAdmin {
    this.#admin ??= new SqliteAdmin(this, this.#internals);
    return this.#admin;
  }

  /**
   * Starts the shared ORM (with the per-tenant entities guarded) and prepares the tenant folder and registry.
   * Metadata discovery happens here, once; nothing of it is repeated per tenant. Every option is checked
   * before the first side effect (the shared database's connection, the tenant folder, the registry
   * table), the ones that need the discovered model right after discovery.
   *
   * @throws TenantError `ERR_INVALID_OPTION` for bad tenant options
   */
  static async init<EM extends EntityManager = EntityManager>(config: SqliteTenancyConfig): Promise<SqliteTenancy<EM>> {
    const { tenancy, ...ormOptions } = config;
    const options = resolveTenancyOptions(tenancy, ormOptions.baseDir);
    const files = new TenantFiles(options.dir, options.namePattern, options);
    const adapter = await loadOrmAdapter();
    // Reads the migrations folder (nothing is written): a bad `path` fails here.
    const migrations = options.migrations ? migrationsSource(adapter, options.migrations) : undefined;
    const tenantNames = new Set<string>();
    const Driver = adapter.guardSharedDriver(ormOptions.driver ?? adapter.defaultDriver, name => tenantNames.has(name));
    const entities = [...(ormOptions.entities ?? [])];
    for (const entity of options.entities) {
      if (!entities.includes(entity as never)) {
        entities.push(entity as never);
      }
    }
    assertSharedContextName(ormOptions.contextName);
    // Discovery only: the connection waits until the options that need the model are checked (MikroORM 6's
    // `connect` option; 7 has none and never connects in init()).
    const connect = (ormOptions as { connect?: boolean }).connect ?? true;
    const orm = await MikroORM.init(withSharedConnection(adapter, { ...ormOptions, entities, driver: Driver, connect: false } as Options, options.sharedPragmas));
    try {
      return await SqliteTenancy.#afterDiscovery<EM>(orm, { adapter, options, files, migrations, tenantNames, connect });
    } catch (error) {
      adapter.releaseTenantConfig(orm.config);
      await orm.close(true);
      throw error;
    }
  }

  static async #afterDiscovery<EM extends EntityManager>(orm: SharedORM, init: {
    adapter: OrmAdapter; options: ResolvedTenancyOptions; files: TenantFiles; migrations?: TenantSchemaSource; tenantNames: Set<string>; connect: boolean;
  }): Promise<SqliteTenancy<EM>> {
    const { adapter, options, files, tenantNames } = init;
    const metadata = orm.getMetadata();
    const { tenantTables, sharedTables, referencesShared } = classifyModel(metadata, options.entities, tenantNames);
    const tenantMeta = tenantEntityMetadata(metadata, options.tenantEntity, tenantNames);
    const sharedFile = sqliteDatabaseFile(orm.config.get('dbName'), orm.config.get('baseDir'));
    checkSharedFileApart(files, sharedFile);
    const attachAs = options.attach ?? (referencesShared ? 'shared' : false);
    if (attachAs && !sharedFile) {
      throw TenantError.invalidOption('tenancy.attach', 'attaching needs the shared database in a file (dbName), not in memory');
    }

    // Side effects from here on.
    if (sharedFile) {
      // MikroORM 6 creates the shared database's folder when it connects; 7 does not: the same on both.
      mkdirSync(dirname(sharedFile), { recursive: true });
    }
    orm.config.set('connect' as never, init.connect as never);
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
    const shared = new SharedAccess(orm, adapter.transactions, name => !tenantNames.has(name) && metadataByName(metadata, name) !== undefined);
    resolveTenantTransactionsInContext(orm.config, orm.em.name);
    followTenantContext(orm.em);
    const generator = orm.config.get('schemaGenerator');
    // The registry table is not an entity: keep schema updates of the shared ORM from dropping it.
    adapter.skipTablesInSharedSchema(orm, [...tenantTables, options.registryTable]);
    files.ensureDirs();
    await removeStaleTmpFiles(files);
    const config = adapter.deriveTenantConfig(orm.config, {
      dbName: join(files.internalDir, 'schema.sqlite3'),
      migrations: options.migrations
        ? { ...orm.config.get('migrations'), migrationsList: undefined, ...tenantMigrationsConfig(options.migrations) }
        : orm.config.get('migrations'),
      schemaGenerator: generator,
      sharedTables,
    });
    const schema = init.migrations ?? await entitiesSource(adapter, adapter.createTenantEntityManager(config, metadata, orm.em.getEventManager()));
    const registry = new DeferredTenantRegistry(
      new SharedSqliteRegistry(() => shared.em(), options.registryTable, adapter.transactions, () => adapter.sharedHandle(orm)),
      (error, records) => options.warn(`mikro-tenant: tenants ${records.map(r => `"${r.tenantId}"`).join(', ')} were created but could not be `
        + `registered (${(error as Error).message}); run reconcile({ fix: true }) or \`mikro-tenant reconcile --fix\`.`, 'MIKRO_TENANT_REGISTRY'),
    );
    await registry.ensure();
    const setup = handleSetup({ pragmas: pragmaStatements(options.pragmas), attachFile: attachAs ? sharedFile : undefined, attachAs: attachAs || undefined });
    const guard = attachAs ? sharedWriteGuard(attachAs, [...sharedTables, options.registryTable]) : undefined;
    const strategy = new SqliteStrategy({ orm, adapter, config, options, files, registry, schema, setup, shared, guard });
    const tenancy = new SqliteTenancy<EM>({ orm, adapter, config, options, files, registry, schema, tenantMeta, strategy, setup, guard });
    if (options.tenantEntity) {
      orm.em.getEventManager().registerSubscriber(new TenantDeletionSubscriber({
        entity: options.tenantEntity,
        enabled: options.deleteOnTenantDelete,
        tenantIdOf: entity => tenancy.tenantId(entity),
        // A removal flushed by a tenant EntityManager is checked on the shared connection, not through ATTACH.
        checkWith: em => (em.getDriver() === orm.em.getDriver() ? em.fork() : shared.em().fork({ keepTransactionContext: true })),
        warn: message => options.warn(message, 'MIKRO_TENANT_DELETION'),
        deleteTenant: async id => { await tenancy.deleteTenant(id); },
        transactions: adapter.transactions,
      }));
    }
    return tenancy;
  }

  /**
   * Builds the template for the current schema now (it is otherwise built on the first provisioning), and
   * the spare copies new tenants are provisioned from; resolves when both are ready (so a deploy step or a
   * test that calls it finds the next new tenant at the link floor). `{ spares: false }` builds the
   * template alone (a process about to end, such as the CLI's, has no use for spares).
   * @throws TenantError `ERR_INVALID_OPTION` (before anything is built), `ERR_TENANCY_CLOSED`
   */
  async buildTemplate(options: { spares?: boolean } = {}): Promise<string | undefined> {
    if (typeof options !== 'object' || options === null || (options.spares !== undefined && typeof options.spares !== 'boolean')) {
      throw TenantError.invalidOption('buildTemplate(options).spares', 'true or false');
    }
    return this.lifecycle.track(async () => {
      const path = await this.#strategy.template?.ensure();
      if (options.spares !== false) {
        this.#strategy.spares?.fill();
        await this.#strategy.spares?.settle();
      }
      return path;
    });
  }

  /** Removes the template files and the spare copies of it; the next provisioning rebuilds the template. @throws TenantError `ERR_TENANCY_CLOSED` */
  async clearTemplate(): Promise<number> {
    return this.lifecycle.track(async () => {
      await this.#strategy.spares?.clear();
      return (await this.#strategy.template?.clear()) ?? 0;
    });
  }
}

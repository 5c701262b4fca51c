import { MikroORM, type Configuration, type EntityManager, type EntityMetadata, type IDatabaseDriver, type Options } from '@mikro-orm/core';
import {
  AbstractTenancy, DeferredTenantRegistry, TenantDeletionSubscriber, TenantError, resolveTenantTransactionsInContext,
  type TenancyStats, type TenancyStrategy,
} from '@mikro-tenant/core';
import { PostgresAdmin } from './admin/postgres-admin.js';
import { entityTenantIdRule, tenantEntityMetadata } from './entity-tenant-id.js';
import { followTenantContext } from '@mikro-tenant/sql';
import { tenantSearchPath } from './identifiers.js';
import { loadOrmAdapter, type PgOrmAdapter } from './orm-adapter.js';
import { listTablesOnlyIn } from './table-listing.js';
import type { TenantContextEntityManager, TenantEntityManager } from './tenant-entity-manager.js';
import { resolvePostgresTenancyOptions, type PostgresTenancyConfig, type ResolvedPostgresTenancyOptions } from './options.js';
import { PostgresSchemaStrategy } from './postgres-schema-strategy.js';
import type { SchemaReconcileReport } from './schema-inventory.js';
import { SchemaTenantRegistry, type RegistryConnection } from './schema-registry.js';
import { classifyModel, withTenantSchemaLayout } from './tenant-model.js';
import { entitiesSource, migrationNames, migrationsSource, tenantMigrationsConfig, type TenantSchemaSource } from './tenant-schema.js';
import { TenantSchemas } from './tenant-schemas.js';

/**
 * The shared ORM (MikroORM's `PostgreSqlDriver` of the installed major, guarded), typed with the EntityManager
 * class given to {@link PostgresSchemaTenancy.init} (`@mikro-orm/core`'s `EntityManager` unless set).
 */
export type SharedPostgresORM<EM extends EntityManager = EntityManager> = MikroORM<IDatabaseDriver, EM>;

/** Counters returned by {@link PostgresSchemaTenancy.stats}: tenant EntityManagers ready and made ready, schemas created, races lost. */
export type PostgresTenancyStats = TenancyStats;

interface Init {
  orm: SharedPostgresORM; adapter: PgOrmAdapter; config: Configuration; options: ResolvedPostgresTenancyOptions; schemas: TenantSchemas; sharedSchema: string;
  registry: SchemaTenantRegistry; source: TenantSchemaSource; tenantMeta?: EntityMetadata; strategy: PostgresSchemaStrategy;
}

/**
 * One PostgreSQL schema per tenant, for MikroORM, behind the same API as `SqliteTenancy` (both are core's
 * `AbstractTenancy` over a strategy; this one is {@link PostgresSchemaStrategy}). Per-tenant entities live
 * in every tenant's schema, shared ones in the shared schema; a tenant's EntityManager is bound to its
 * schema and runs on the shared ORM's connection pool (no connection per tenant).
 *
 * @example
 * const tenancy = await PostgresSchemaTenancy.init({
 *   clientUrl: 'postgresql://app@localhost/app',
 *   entities: [User],
 *   tenancy: { entities: [Note] },
 * });
 * await tenancy.run('acme', async em => em.find(Note, {}));
 */
export class PostgresSchemaTenancy<EM extends EntityManager = EntityManager> extends AbstractTenancy<TenantEntityManager<EM>, SchemaReconcileReport> {
  /** The shared MikroORM instance. Outside a tenant scope its EntityManager refuses per-tenant entities; inside one it is the tenant's. */
  declare readonly orm: SharedPostgresORM<EM>;
  /** Resolves to the active tenant's EntityManager; throws `ERR_NO_TENANT_CONTEXT` with no tenant active. */
  declare readonly em: TenantContextEntityManager<EM>;
  /** Maps tenant ids to schema names. */
  readonly schemas: TenantSchemas;
  /** The schema of the shared entities (and of the registry). */
  readonly sharedSchema: string;
  /** The resolved tenant options. */
  readonly options: ResolvedPostgresTenancyOptions;
  /** How tenant schemas get their tables (migrations or entity metadata). */
  readonly schema: TenantSchemaSource;
  readonly #registry: SchemaTenantRegistry;
  #admin?: PostgresAdmin;

  private constructor(init: Init) {
    super({
      orm: init.orm as never,
      strategy: init.strategy as unknown as TenancyStrategy<TenantEntityManager<EM>, SchemaReconcileReport>,
      // The registry's rows are written with the schemas they describe: nothing is ever queued.
      registry: new DeferredTenantRegistry(init.registry, () => undefined),
      contextEntityManager: assertUsable => init.adapter.createContextEntityManager(init.config, init.orm.getMetadata(), init.orm.em.getEventManager(), assertUsable) as TenantEntityManager<EM>,
      entityTenantId: entityTenantIdRule(init.tenantMeta, init.options.tenantIdOf),
      maxOpen: init.options.maxOpen,
      autoCreate: init.options.autoCreate,
      deleteGraceMs: init.options.deleteGraceMs,
      warn: init.options.warn,
      operating: init.options,
    });
    this.options = init.options;
    this.schemas = init.schemas;
    this.sharedSchema = init.sharedSchema;
    this.schema = init.source;
    this.#registry = init.registry;
  }

  /**
   * The strategy's admin operations, for tools such as the `mikro-tenant` CLI (`@mikro-tenant/cli`):
   * tenant schemas, migrations without the registry, backups (`pg_dump`) and restores. Not needed by apps.
   */
  admin(): PostgresAdmin {
    this.#admin ??= new PostgresAdmin(this, this.#registry, fn => this.lifecycle.track(fn));
    return this.#admin;
  }

  /**
   * Starts the shared ORM with the per-tenant entities in the wildcard schema (discovery happens here, once),
   * guards it, and creates the registry table. Every option is checked before the first side effect.
   *
   * @throws TenantError `ERR_INVALID_OPTION` for bad tenant options, or a driver that is not MikroORM's PostgreSQL driver
   */
  static async init<EM extends EntityManager = EntityManager>(config: PostgresTenancyConfig): Promise<PostgresSchemaTenancy<EM>> {
    const { tenancy, ...ormOptions } = config;
    const options = resolvePostgresTenancyOptions(tenancy);
    const adapter = await loadOrmAdapter();
    const Base = ormOptions.driver ?? adapter.defaultDriver;
    if (!adapter.isPostgreSqlDriver(Base)) {
      throw TenantError.invalidOption('driver', 'PostgresSchemaTenancy needs PostgreSqlDriver from @mikro-orm/postgresql (or a subclass); '
        + 'for one SQLite file per tenant use SqliteTenancy from @mikro-tenant/sqlite');
    }
    const sharedSchema = ormOptions.schema ?? 'public';
    if (typeof sharedSchema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(sharedSchema) || sharedSchema.startsWith('pg_')) {
      throw TenantError.invalidOption('schema', 'the shared schema must be a lower-case identifier (a-z, 0-9, _) not starting with "pg_"');
    }
    if (options.migrations) {
      migrationNames(options.migrations);
    }
    adapter.assertSharedContextName(ormOptions.contextName);
    const tenantNames = new Set<string>();
    const entities = [...(ormOptions.entities ?? [])];
    for (const entity of options.entities) {
      if (!entities.includes(entity as never)) {
        entities.push(entity as never);
      }
    }
    const Driver = adapter.sharedDriverClass(Base, name => tenantNames.has(name));
    const layout = withTenantSchemaLayout({ ...ormOptions, entities, driver: Driver, connect: false } as Options, options.entities);
    const orm = await MikroORM.init(layout) as SharedPostgresORM;
    // MikroORM 6's `connect` option; 7 has none and never connects in init().
    const connect = (ormOptions as { connect?: boolean }).connect ?? true;
    try {
      return await PostgresSchemaTenancy.#afterDiscovery<EM>(orm, { adapter, options, tenantNames, sharedSchema, connect });
    } catch (error) {
      adapter.releaseTenantConfig(orm.config);
      await orm.close(true);
      throw error;
    }
  }

  static async #afterDiscovery<EM extends EntityManager>(orm: SharedPostgresORM, init: {
    adapter: PgOrmAdapter; options: ResolvedPostgresTenancyOptions; tenantNames: Set<string>; sharedSchema: string; connect: boolean;
  }): Promise<PostgresSchemaTenancy<EM>> {
    const { adapter, options, tenantNames, sharedSchema } = init;
    const metadata = orm.getMetadata();
    const model = classifyModel(metadata, options.entities, tenantNames, sharedSchema);
    const tenantMeta = tenantEntityMetadata(metadata, options.tenantEntity, tenantNames);
    const schemas = new TenantSchemas(options.schemaPattern, model.sharedSchemas);

    // Side effects from here on.
    orm.config.set('connect' as never, init.connect as never);
    if (init.connect) {
      await orm.connect();
    }
    // The shared ORM's schema tools see the shared schemas only, never a tenant's.
    listTablesOnlyIn(orm.em.getPlatform().getSchemaHelper() as never, () => model.sharedSchemas);
    // The registry table is not an entity: keep schema updates of the shared ORM from dropping it. The
    // per-tenant entities name no schema after discovery: keep the shared ORM from creating their tables.
    const generator = orm.config.get('schemaGenerator');
    const skipTables = [...(generator.skipTables ?? []), ...model.tenantTables, options.registryTable, `${sharedSchema}.${options.registryTable}`];
    orm.config.set('schemaGenerator', { ...generator, skipTables });
    (orm.schema as unknown as { options: object }).options = orm.config.get('schemaGenerator');
    const config = adapter.deriveTenantConfig(orm.config, {
      // A tenant's schema tools leave the shared tables alone (its listing sees its own schema only).
      schemaGenerator: { ...generator, skipTables: [...(generator.skipTables ?? []), ...model.sharedQualifiedTables] },
      migrations: options.migrations ? { ...orm.config.get('migrations'), ...tenantMigrationsConfig(options.migrations) } : orm.config.get('migrations'),
    });
    const shared = adapter.sharedPool(orm);
    const source = options.migrations
      ? migrationsSource(adapter, options.migrations, (schema, record) => adapter.createTenantEntityManager(config, metadata, orm.em.getEventManager(), {
        tenantId: '(build)', schema, searchPath: tenantSearchPath(schema, sharedSchema), shared, record,
      }))
      : await entitiesSource(adapter, schema => adapter.createTenantEntityManager(config, metadata, orm.em.getEventManager(), { schema, shared }));
    const platform = orm.em.getPlatform();
    const registry = new SchemaTenantRegistry(() => orm.em.getConnection() as unknown as RegistryConnection, (sql, params) => platform.formatQuery(sql, params as unknown[]),
      sharedSchema, options.registryTable);
    await registry.ensure();
    // Inside tenant scopes MikroORM's contexts resolve the shared ORM's name to the tenant (core's run()).
    resolveTenantTransactionsInContext(orm.config, orm.em.name);
    followTenantContext(orm.em);
    const strategy = new PostgresSchemaStrategy({ orm, adapter, config, schemas, sharedSchema, registry, source, shared });
    const tenancy = new PostgresSchemaTenancy<EM>({ orm, adapter, config, options, schemas, sharedSchema, registry, source, tenantMeta, strategy });
    if (options.tenantEntity) {
      orm.em.getEventManager().registerSubscriber(new TenantDeletionSubscriber({
        entity: options.tenantEntity,
        enabled: options.deleteOnTenantDelete,
        // A row whose id no tenant can have (too long for a schema name) stands for no tenant: nothing to delete.
        tenantIdOf: entity => {
          try {
            return tenancy.tenantId(entity);
          } catch {
            return undefined;
          }
        },
        warn: message => options.warn(message, 'MIKRO_TENANT_DELETION'),
        deleteTenant: async id => { await tenancy.deleteTenant(id); },
        transactions: adapter.transactions,
      }));
    }
    return tenancy;
  }
}

import { MikroORM, RequestContext, type Configuration, type EntityMetadata, type Options } from '@mikro-orm/core';
import {
  DeferredTenantRegistry, TenancyRegistry, TenantDeletionSubscriber, TenantError, TenantPool, canonicalTenantId, currentTenantScope, runInTenantScope,
  type EntityTenantId, type Tenancy, type TenantIdInput, type TenantInfo, type TenantRecord, type TenantRunOptions, type TenantScope,
} from '@mikro-tenant/core';
import { entityTenantIdRule, tenantEntityMetadata } from './entity-tenant-id.js';
import { knexTransactions } from './mikro-orm-6/knex-transactions.js';
import { quoteIdentifier, tenantSearchPath } from './mikro-orm-6/search-path.js';
import { PostgreSqlDriver, isPostgreSqlDriver, sharedDriverClass, type SqlEntityManager } from './mikro-orm-6/shared-pg-driver.js';
import { listTablesOnlyIn } from './mikro-orm-6/table-listing.js';
import { assertSharedContextName, dropTenantCache, releaseTenantConfig } from './mikro-orm-6/tenant-config.js';
import {
  createContextEntityManager, createTenantEntityManager, deriveTenantConfig, type TenantContextEntityManager, type TenantEntityManager,
} from './mikro-orm-6/tenant-entity-manager.js';
import type { TenantSchemaBinding } from './mikro-orm-6/tenant-pg-connection.js';
import { resolvePostgresTenancyOptions, type PostgresTenancyConfig, type ResolvedPostgresTenancyOptions } from './options.js';
import { reconcileWithSchemas, withSchemaSizes, type SchemaReconcileReport } from './schema-inventory.js';
import { SchemaProvisioner } from './schema-provisioner.js';
import { SchemaTenantRegistry, type RegistryConnection } from './schema-registry.js';
import { DeferredDeletions, TenancyLifecycle } from './tenancy-lifecycle.js';
import { classifyModel, withTenantSchemaLayout } from './tenant-model.js';
import { entitiesSource, migrationNames, migrationsSource, tenantMigrationsConfig, type SchemaApplyResult, type TenantSchemaSource } from './tenant-schema.js';
import { TenantSchemas } from './tenant-schemas.js';

/** The shared ORM: a PostgreSQL MikroORM whose EntityManager is a `SqlEntityManager`. */
export type SharedPostgresORM = MikroORM<PostgreSqlDriver, SqlEntityManager<PostgreSqlDriver>>;

/** Counters returned by {@link PostgresSchemaTenancy.stats}. */
export interface PostgresTenancyStats {
  /** Tenant EntityManagers kept ready now. */
  open: number;
  /** Tenants made ready since start (each checks its schema once). */
  opened: number;
  /** Tenant schemas this process created. */
  provisioned: number;
  /** Provisionings another process won (its schema committed first). */
  provisionRaces: number;
}

interface Init {
  orm: SharedPostgresORM; config: Configuration; options: ResolvedPostgresTenancyOptions; schemas: TenantSchemas; sharedSchema: string;
  registry: SchemaTenantRegistry; source: TenantSchemaSource; tenantMeta?: EntityMetadata; sharedKnex: TenantSchemaBinding['sharedKnex'];
}

/**
 * One PostgreSQL schema per tenant, for MikroORM, behind the same API as `SqliteTenancy`. Per-tenant
 * entities live in every tenant's schema, shared ones in the shared schema; a tenant's EntityManager is
 * bound to its schema and runs on the shared ORM's connection pool (no connection per tenant).
 *
 * @example
 * const tenancy = await PostgresSchemaTenancy.init({
 *   clientUrl: 'postgresql://app@localhost/app',
 *   entities: [User],
 *   tenancy: { entities: [Note] },
 * });
 * await tenancy.run('acme', async em => em.find(Note, {}));
 */
export class PostgresSchemaTenancy implements Tenancy<TenantEntityManager> {
  /** The shared MikroORM instance. Its EntityManager refuses per-tenant entities. */
  readonly orm: SharedPostgresORM;
  /** Resolves to the active tenant's EntityManager; throws `ERR_NO_TENANT_CONTEXT` with no tenant active. */
  readonly em: TenantContextEntityManager;
  /** Which tenants exist (a table in the shared schema). Refuses every call once `close()` began. */
  readonly registry: TenancyRegistry;
  /** Maps tenant ids to schema names. */
  readonly schemas: TenantSchemas;
  /** The schema of the shared entities (and of the registry). */
  readonly sharedSchema: string;
  /** The resolved tenant options. */
  readonly options: ResolvedPostgresTenancyOptions;
  /** How tenant schemas get their tables (migrations or entity metadata). */
  readonly schema: TenantSchemaSource;
  readonly #config: Configuration;
  readonly #registry: SchemaTenantRegistry;
  readonly #lifecycle = new TenancyLifecycle();
  readonly #deferredDeletions = new DeferredDeletions();
  readonly #entityTenantId: EntityTenantId;
  readonly #pool: TenantPool<TenantEntityManager>;
  readonly #provisioner: SchemaProvisioner;
  readonly #sharedKnex: TenantSchemaBinding['sharedKnex'];
  /** Deletions per tenant id in this process: EntityManagers of an earlier incarnation refuse to run. */
  readonly #incarnations = new Map<string, number>();
  #poolClosed = false;
  #opened = 0;

  private constructor(init: Init) {
    this.orm = init.orm;
    this.#config = init.config;
    this.options = init.options;
    this.schemas = init.schemas;
    this.sharedSchema = init.sharedSchema;
    this.#registry = init.registry;
    this.#sharedKnex = init.sharedKnex;
    this.registry = new TenancyRegistry(new DeferredTenantRegistry(init.registry, () => undefined), () => this.#lifecycle.assertOpen());
    this.schema = init.source;
    this.#entityTenantId = entityTenantIdRule(init.tenantMeta, init.options.tenantIdOf);
    this.em = createContextEntityManager(this.#config, this.orm.getMetadata(), this.orm.em.getEventManager(), () => this.#lifecycle.assertOpen());
    this.#pool = new TenantPool(this.options.maxOpen, {
      open: (tenantId, { create }) => this.#open(tenantId, create ?? this.options.autoCreate),
      // A tenant EntityManager holds no connection: dropping it from the pool closes nothing.
      close: async () => undefined,
    });
    this.#provisioner = new SchemaProvisioner({
      schemas: this.schemas,
      registry: this.#registry,
      source: this.schema,
      searchPath: schema => tenantSearchPath(schema, this.sharedSchema),
      execute: sql => this.#connection().execute(sql, [], 'run'),
      schemaExists: schema => this.#schemaExists(schema),
    });
  }

  /**
   * Starts the shared ORM with the per-tenant entities in the wildcard schema (discovery happens here, once),
   * guards it, and creates the registry table. Every option is checked before the first side effect.
   *
   * @throws TenantError `ERR_INVALID_OPTION` for bad tenant options, or a driver that is not MikroORM's PostgreSQL driver
   */
  static async init(config: PostgresTenancyConfig): Promise<PostgresSchemaTenancy> {
    const { tenancy, ...ormOptions } = config;
    const options = resolvePostgresTenancyOptions(tenancy);
    const Base = ormOptions.driver ?? PostgreSqlDriver;
    if (!isPostgreSqlDriver(Base)) {
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
    assertSharedContextName(ormOptions.contextName);
    const tenantNames = new Set<string>();
    const entities = [...(ormOptions.entities ?? [])];
    for (const entity of options.entities) {
      if (!entities.includes(entity as never)) {
        entities.push(entity as never);
      }
    }
    const Driver = sharedDriverClass(Base, name => tenantNames.has(name));
    const layout = withTenantSchemaLayout({ ...ormOptions, entities, driver: Driver, connect: false } as Options, options.entities);
    const orm = await MikroORM.init(layout) as unknown as SharedPostgresORM;
    try {
      return await PostgresSchemaTenancy.#afterDiscovery(orm, { options, tenantNames, sharedSchema, connect: ormOptions.connect ?? true });
    } catch (error) {
      releaseTenantConfig(orm.config);
      await orm.close(true);
      throw error;
    }
  }

  static async #afterDiscovery(orm: SharedPostgresORM, init: {
    options: ResolvedPostgresTenancyOptions; tenantNames: Set<string>; sharedSchema: string; connect: boolean;
  }): Promise<PostgresSchemaTenancy> {
    const { options, tenantNames, sharedSchema } = init;
    const metadata = orm.getMetadata();
    const model = classifyModel(metadata, options.entities, tenantNames, sharedSchema);
    const tenantMeta = tenantEntityMetadata(metadata, options.tenantEntity, tenantNames);
    const schemas = new TenantSchemas(options.schemaPattern, model.sharedSchemas);

    // Side effects from here on.
    orm.config.set('connect', init.connect);
    if (init.connect) {
      await orm.connect();
    }
    // The shared ORM's schema tools see the shared schemas only, never a tenant's.
    listTablesOnlyIn(orm.em.getPlatform().getSchemaHelper()!, () => model.sharedSchemas);
    // The registry table is not an entity: keep schema updates of the shared ORM from dropping it. The
    // per-tenant entities name no schema after discovery: keep the shared ORM from creating their tables.
    const generator = orm.config.get('schemaGenerator');
    const skipTables = [...(generator.skipTables ?? []), ...model.tenantTables, options.registryTable, `${sharedSchema}.${options.registryTable}`];
    orm.config.set('schemaGenerator', { ...generator, skipTables });
    (orm.schema as unknown as { options: object }).options = orm.config.get('schemaGenerator');
    const config = deriveTenantConfig(orm.config, {
      // A tenant's schema tools leave the shared tables alone (its listing sees its own schema only).
      schemaGenerator: { ...generator, skipTables: [...(generator.skipTables ?? []), ...model.sharedQualifiedTables] },
      migrations: options.migrations ? { ...orm.config.get('migrations'), ...tenantMigrationsConfig(options.migrations) } : orm.config.get('migrations'),
    });
    // The shared driver's connection object stays the same across reconnects (its knex instance does not).
    const sharedConnection = orm.em.getConnection();
    const sharedKnex = () => sharedConnection.getKnex();
    const source = options.migrations
      ? migrationsSource(options.migrations, (schema, record) => createTenantEntityManager(config, metadata, orm.em.getEventManager(), {
        tenantId: '(build)', schema, searchPath: tenantSearchPath(schema, sharedSchema), sharedKnex, record,
      }))
      : await entitiesSource(schema => createTenantEntityManager(config, metadata, orm.em.getEventManager(), { schema, sqlKnex: sharedKnex }));
    const platform = orm.em.getPlatform();
    const registry = new SchemaTenantRegistry(() => orm.em.getConnection() as unknown as RegistryConnection, (sql, params) => platform.formatQuery(sql, params as unknown[]),
      sharedSchema, options.registryTable);
    await registry.ensure();
    const tenancy = new PostgresSchemaTenancy({ orm, config, options, schemas, sharedSchema, registry, source, tenantMeta, sharedKnex });
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
        transactions: knexTransactions,
      }));
    }
    return tenancy;
  }

  /** Number of tenant EntityManagers kept ready in this process. */
  get openTenants(): number {
    return this.#pool.size;
  }

  /** Counters of this process, for monitoring and tests. */
  stats(): PostgresTenancyStats {
    return { open: this.#pool.size, opened: this.#opened, provisioned: this.#provisioner.provisioned, provisionRaces: this.#provisioner.races };
  }

  /**
   * The canonical id of a tenant input, by the one rule every method here, the Koa middleware and the
   * deletion subscriber use, refused when its schema name would not fit (63 bytes, no reserved name).
   * Pure: it touches nothing, also after `close()`.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  tenantId(input: TenantIdInput): string {
    const id = canonicalTenantId(input, this.#entityTenantId);
    this.schemas.schemaOf(id);
    return id;
  }

  /**
   * A new EntityManager fork bound to one tenant's schema, creating the tenant first when `autoCreate` is on.
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
   * Runs `fn` as the tenant: `tenancy.em` resolves to a fresh fork of the tenant (also passed to `fn`) and
   * the shared `orm.em` gets a request context if it has none. If `fn` deletes this very tenant, the
   * deletion happens once `fn` has settled, and `run()` resolves after it.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   */
  async run<T>(tenantId: TenantIdInput, fn: (em: TenantEntityManager) => T | Promise<T>, options: TenantRunOptions = {}): Promise<T> {
    this.#lifecycle.assertOpen();
    const id = this.tenantId(tenantId);
    const lease = await this.#pool.acquire(id, { create: options.create });
    let scope: TenantScope<TenantEntityManager> | undefined;
    try {
      const em = lease.handle.fork();
      const entered = { tenantId: id, em, outer: currentTenantScope() };
      scope = entered;
      this.#deferredDeletions.own(entered);
      const inScope = () => runInTenantScope(entered, () => fn(em));
      if (options.sharedContext !== false && !RequestContext.currentRequestContext()?.map.has(this.orm.em.name)) {
        return await RequestContext.create(this.orm.em, inScope);
      }
      return await inScope();
    } finally {
      lease.release();
      if (scope && this.#deferredDeletions.take(id, scope)) {
        await this.#lifecycle.trackInternal(this.#deleteReporting(id));
      }
    }
  }

  /**
   * Creates a tenant's schema with its tables and registry row, in one transaction.
   * @throws TenantError `ERR_TENANT_EXISTS` when its schema exists, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   */
  async createTenant(tenantId: TenantIdInput): Promise<TenantRecord> {
    return this.#lifecycle.track(async () => {
      const id = this.tenantId(tenantId);
      const { created, record } = await this.#provisioner.provision(id, true);
      if (!created) {
        throw TenantError.tenantExists(id);
      }
      return record;
    });
  }

  /**
   * Deletes a tenant: waits up to `deleteGraceMs` for work holding it, then drops its schema (`CASCADE`) and
   * its registry row in one transaction. Resolves false when there was nothing to delete. Inside the
   * tenant's own `run()` it resolves at once and the deletion happens when that `run()` settles.
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
        return this.#schemaExists(this.schemas.schemaOf(id));
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.#lifecycle.trackInternal(this.#deleteNow(id));
  }

  /** True when the tenant's schema exists. @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANCY_CLOSED` */
  async tenantExists(tenantId: TenantIdInput): Promise<boolean> {
    this.#lifecycle.assertOpen();
    return this.#schemaExists(this.schemas.schemaOf(this.tenantId(tenantId)));
  }

  /** Registered tenants with the size of their schemas. @throws TenantError `ERR_TENANCY_CLOSED` */
  async listTenants(): Promise<TenantInfo[]> {
    return this.#lifecycle.track(async () => withSchemaSizes(this.#connection(), await this.#registry.list()));
  }

  /** Compares the registry with the tenant schemas; with `fix`, registers stray schemas and drops rows without one. @throws TenantError `ERR_TENANCY_CLOSED` */
  async reconcile(options: { fix?: boolean } = {}): Promise<SchemaReconcileReport> {
    return this.#lifecycle.track(() => reconcileWithSchemas(this.#connection(), this.schemas, this.#registry, options.fix ?? false));
  }

  /** Names of the migrations not yet applied to a tenant (with a schema from the entities: `['schema']` when tables are missing). */
  async pendingMigrations(tenantId: TenantIdInput): Promise<string[]> {
    return this.#lifecycle.track(() => this.run(tenantId, em => this.schema.pending(em), { sharedContext: false }));
  }

  /** Applies pending migrations to one tenant (in one transaction) and records its schema version. @throws TenantError `ERR_TENANT_MIGRATION_FAILED` */
  async migrateTenant(tenantId: TenantIdInput): Promise<SchemaApplyResult> {
    return this.#lifecycle.track(async () => {
      const id = this.tenantId(tenantId);
      const result = await this.run(id, em => this.schema.apply(em), { sharedContext: false });
      await this.#registry.setSchemaVersion(id, result.version);
      return result;
    });
  }

  /**
   * Closes the tenancy: every method (and `tenancy.em`, `tenancy.registry`) rejects with `ERR_TENANCY_CLOSED`
   * from now on; operations under way finish first, then tenant EntityManagers refuse to run, deletions
   * asked for inside a `run()` still going are done and the shared ORM (and its pool) is closed. Idempotent.
   */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      this.#poolClosed = true;
      await this.#pool.close();
      for (const id of this.#deferredDeletions.takeAll()) {
        await this.#deleteNow(id, true).catch(error => this.options.warn(
          `mikro-tenant: deleting tenant "${id}" failed: ${(error as Error).message}`, 'MIKRO_TENANT_DELETION'));
      }
      await this.#lifecycle.settle();
      await this.#provisioner.settle();
      releaseTenantConfig(this.orm.config);
      await this.orm.close(true);
    });
  }

  /** The shared ORM's own connection (never a context's transaction). */
  #connection(): RegistryConnection {
    return this.orm.em.getConnection() as unknown as RegistryConnection;
  }

  async #schemaExists(schema: string): Promise<boolean> {
    // Not logged: apps see their own queries in the query log, not this check of a tenant's first use.
    const rows = await this.#connection().execute<unknown[]>('select 1 from pg_namespace where nspname = ?', [schema], 'all', undefined, { enabled: false });
    return rows.length > 0;
  }

  async #deleteNow(id: string, closing = false): Promise<boolean> {
    const schema = this.schemas.schemaOf(id);
    await this.#provisioner.pending(id)?.catch(() => undefined);
    let existed = false;
    const drop = async () => {
      // From here on every EntityManager of this incarnation of the tenant refuses to run.
      this.#incarnations.set(id, (this.#incarnations.get(id) ?? 0) + 1);
      await dropTenantCache(this.#config, id);
      existed = (await this.#schemaExists(schema)) || (await this.#registry.exists(id));
      await this.#connection().execute(`drop schema if exists ${quoteIdentifier(schema)} cascade;\n${this.#registry.deleteSql(id)}`, [], 'run');
    };
    if (closing) {
      await drop();
    } else {
      await this.#pool.retire(id, this.options.deleteGraceMs, drop);
    }
    return existed;
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
    const schema = this.schemas.schemaOf(tenantId);
    if (!(await this.#schemaExists(schema))) {
      if (!mayCreate) {
        throw TenantError.tenantNotFound(tenantId);
      }
      await this.#provisioner.provision(tenantId, false);
    }
    const incarnation = this.#incarnations.get(tenantId) ?? 0;
    const binding: TenantSchemaBinding = {
      tenantId,
      schema,
      searchPath: tenantSearchPath(schema, this.sharedSchema),
      sharedKnex: this.#sharedKnex,
      touch: () => this.#pool.touch(tenantId),
      assertUsable: () => {
        if (this.#poolClosed) {
          throw TenantError.tenancyClosed();
        }
        if ((this.#incarnations.get(tenantId) ?? 0) !== incarnation) {
          throw TenantError.tenantDeleted(tenantId);
        }
      },
    };
    const em = createTenantEntityManager(this.#config, this.orm.getMetadata(), this.orm.em.getEventManager(), binding);
    this.#opened++;
    return em;
  }
}

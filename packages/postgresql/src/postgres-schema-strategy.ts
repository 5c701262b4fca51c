import type { Configuration } from '@mikro-orm/core';
import { TenantError, type TenancyStrategy, type TenantInfo, type TenantObserver, type TenantRecord } from '@mikro-tenant/core';
import { quoteIdentifier, tenantSearchPath } from './identifiers.js';
import type { PgOrmAdapter, SharedPool } from './orm-adapter.js';
import type { TenantEntityManager } from './tenant-entity-manager.js';
import { reconcileWithSchemas, withSchemaSizes, type SchemaReconcileReport } from './schema-inventory.js';
import { SchemaProvisioner } from './schema-provisioner.js';
import { SchemaQuota } from './schema-quota.js';
import type { RegistryConnection, SchemaTenantRegistry } from './schema-registry.js';
import type { TenantSchemaSource } from './tenant-schema.js';
import type { TenantSchemas } from './tenant-schemas.js';
import type { SharedPostgresORM } from './postgres-schema-tenancy.js';

/** What the schema strategy works with, all made by `PostgresSchemaTenancy.init()`. */
export interface PostgresSchemaStrategyInit {
  orm: SharedPostgresORM;
  /** The installed MikroORM major's half. */
  adapter: PgOrmAdapter;
  /** The tenancy's derived configuration (`tenant-config.ts` of the major's folder). */
  config: Configuration;
  schemas: TenantSchemas;
  sharedSchema: string;
  registry: SchemaTenantRegistry;
  source: TenantSchemaSource;
  /** The shared ORM's pool now. */
  shared: SharedPool;
}

/**
 * Where PostgreSQL tenants live: one schema per tenant in the shared database. A tenant's EntityManager
 * holds no connection, so dropping it from the pool closes nothing; a deleted tenant's EntityManagers
 * (every incarnation's, also forks made before an eviction) refuse to run, and so do all of them once the
 * tenancy closes.
 */
export class PostgresSchemaStrategy implements TenancyStrategy<TenantEntityManager, SchemaReconcileReport> {
  readonly provisioning: SchemaProvisioner;
  readonly schemaUpdates: TenantSchemaSource;
  readonly #init: PostgresSchemaStrategyInit;
  /** Deletions per tenant id in this process: EntityManagers of an earlier incarnation refuse to run. */
  readonly #incarnations = new Map<string, number>();
  #closed = false;
  #observer?: TenantObserver;
  /** Background quota measurements under way: the shared ORM closes after them. */
  readonly #measuring = new Set<Promise<void>>();

  constructor(init: PostgresSchemaStrategyInit) {
    this.#init = init;
    this.schemaUpdates = init.source;
    this.provisioning = new SchemaProvisioner({
      schemas: init.schemas,
      registry: init.registry,
      source: init.source,
      searchPath: schema => tenantSearchPath(schema, init.sharedSchema),
      execute: sql => this.#connection().execute(sql, [], 'run'),
      schemaExists: schema => this.#schemaExists(schema),
    });
  }

  observe(observer: TenantObserver): void {
    this.#observer = observer;
  }

  checkId(tenantId: string): void {
    this.#init.schemas.schemaOf(tenantId);
  }

  exists(tenantId: string): Promise<boolean> {
    return this.#schemaExists(this.#init.schemas.schemaOf(tenantId));
  }

  async open(tenantId: string, mayCreate: boolean): Promise<TenantEntityManager> {
    const { schemas, sharedSchema, config, orm, adapter, shared } = this.#init;
    const schema = schemas.schemaOf(tenantId);
    if (!(await this.#schemaExists(schema))) {
      if (!mayCreate) {
        throw TenantError.tenantNotFound(tenantId);
      }
      await this.provisioning.provision(tenantId, false);
    }
    const incarnation = this.#incarnations.get(tenantId) ?? 0;
    const observer = this.#observer;
    const limitBytes = await observer?.quotaOf(tenantId);
    let quota: SchemaQuota | undefined;
    if (observer && limitBytes !== undefined) {
      quota = new SchemaQuota({
        tenantId,
        limitBytes,
        observer,
        intervalMs: observer.quotaCheckIntervalMs,
        measure: () => this.#schemaSize(schema),
        track: measuring => {
          this.#measuring.add(measuring);
          void measuring.finally(() => this.#measuring.delete(measuring));
        },
      });
      await quota.measure();
    }
    return adapter.createTenantEntityManager(config, orm.getMetadata(), orm.em.getEventManager(), {
      tenantId,
      schema,
      observer,
      quota,
      searchPath: tenantSearchPath(schema, sharedSchema),
      shared,
      assertUsable: () => {
        if (this.#closed) {
          throw TenantError.tenancyClosed();
        }
        if ((this.#incarnations.get(tenantId) ?? 0) !== incarnation) {
          throw TenantError.tenantDeleted(tenantId);
        }
      },
    }) as TenantEntityManager;
  }

  // A tenant EntityManager holds no connection: an eviction closes nothing; the tenancy's close retires them all.
  async close(_em: TenantEntityManager, _tenantId: string, closing: boolean): Promise<void> {
    if (closing) {
      this.#closed = true;
    }
  }

  async remove(tenantId: string): Promise<boolean> {
    const { schemas, registry, config } = this.#init;
    const schema = schemas.schemaOf(tenantId);
    // From here on every EntityManager of this incarnation of the tenant refuses to run.
    this.#incarnations.set(tenantId, (this.#incarnations.get(tenantId) ?? 0) + 1);
    await this.#init.adapter.dropTenantCache(config, tenantId);
    const existed = (await this.#schemaExists(schema)) || (await registry.exists(tenantId));
    // One transaction (one multi-statement query): the schema and its registry row go together.
    await this.#connection().execute(`drop schema if exists ${quoteIdentifier(schema)} cascade;\n${registry.deleteSql(tenantId)}`, [], 'run');
    return existed;
  }

  describe(records: TenantRecord[]): Promise<TenantInfo[]> {
    return withSchemaSizes(this.#connection(), records);
  }

  reconcile(fix: boolean): Promise<SchemaReconcileReport> {
    return reconcileWithSchemas(this.#connection(), this.#init.schemas, this.#init.registry, fix);
  }

  async shutDown(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#measuring]);
    this.#init.adapter.releaseTenantConfig(this.#init.orm.config);
    await this.#init.orm.close(true);
  }

  /** The shared ORM's own connection (never a context's transaction). */
  #connection(): RegistryConnection {
    return this.#init.orm.em.getConnection() as unknown as RegistryConnection;
  }

  /** Bytes of a schema's tables, with their indexes and TOAST (as `listTenants()` reports them). */
  async #schemaSize(schema: string): Promise<number> {
    const rows = await this.#connection().execute<{ size: string | number }[]>(
      "select coalesce(sum(pg_total_relation_size(c.oid)), 0) as size from pg_class c join pg_namespace n on n.oid = c.relnamespace "
      + "where n.nspname = ? and c.relkind in ('r', 'm', 'p')", [schema], 'all', undefined, { enabled: false });
    return Number(rows[0]?.size ?? 0);
  }

  async #schemaExists(schema: string): Promise<boolean> {
    // Not logged: apps see their own queries in the query log, not this check of a tenant's first use.
    const rows = await this.#connection().execute<unknown[]>('select 1 from pg_namespace where nspname = ?', [schema], 'all', undefined, { enabled: false });
    return rows.length > 0;
  }
}

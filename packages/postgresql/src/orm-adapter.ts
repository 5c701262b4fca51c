/**
 * What the PostgreSQL schema tenancy needs of MikroORM that differs between its majors: the shared driver
 * (guarded, default `search_path`), tenant drivers and connections over the shared pool, the tenant
 * configuration and EntityManagers, schema tools and transaction handles. `mikro-orm-6/` and
 * `mikro-orm-7/` each implement it (their `adapter.ts`); {@link loadOrmAdapter} picks one from the installed
 * `@mikro-orm/core`, once per process. Nothing outside those two folders reaches knex, kysely or
 * `@mikro-orm/postgresql`.
 * @module
 */
import { type Configuration, type EntityManager, type EventManager, type MetadataStorage, type MigrationsOptions, type MikroORM, type Options } from '@mikro-orm/core';
import { majorAdapterLoader } from '@mikro-tenant/sql';
import { TenantError, type TenantObserver, type TransactionInspector } from '@mikro-tenant/core';

/** The shared ORM's way to its connection pool now (knex on 6, the `pg` pool on 7): it changes when the ORM reconnects. */
export type SharedPool = () => unknown;

/** What binds a tenant EntityManager to one tenant's schema on the shared pool. */
export interface TenantSchemaBinding {
  /** Canonical tenant id. */
  readonly tenantId: string;
  /** The tenant's schema (unquoted). */
  readonly schema: string;
  /** `search_path` of the tenant's statements (quoted identifiers). */
  readonly searchPath: string;
  /** The shared ORM's pool. */
  readonly shared: SharedPool;
  /** Receives each statement, values inline, before it runs (to record what migrations do). */
  readonly record?: (sql: string) => void;
  /** Called before every statement: throws `ERR_TENANT_DELETED` once the tenant was deleted, `ERR_TENANCY_CLOSED` once the tenancy closed. */
  readonly assertUsable?: () => void;
  /** Times each statement (the tenancy's statistics, metrics and traces). */
  readonly observer?: TenantObserver;
  /** The tenant's size quota: called before each statement with a way to get its SQL; throws `ERR_TENANT_QUOTA_EXCEEDED` for a write over it. */
  readonly quota?: { beforeStatement(sql: () => string): void };
}

/** What an EntityManager that only builds SQL (DDL for a schema) needs. */
export interface SqlOnlyBinding {
  /** The schema it builds SQL for. */
  readonly schema: string;
  /** The shared ORM's pool (the SQL builder of 6 needs its knex). */
  readonly shared: SharedPool;
}

/** What a tenancy decides for its tenant configuration; everything else comes from the shared ORM. */
export interface TenantConfigInput {
  /** Migrations of tenant schemas. */
  migrations: MigrationsOptions;
  /** The schema-generator options of tenants (the app's, skipping the shared tables). */
  schemaGenerator: Options['schemaGenerator'];
}

/** A tenant's migrations, through MikroORM's Migrator bound to the tenant's schema. */
export interface TenantMigrator {
  /** Applies the pending migrations (one transaction); resolves the names applied. */
  up(): Promise<string[]>;
  /** Names of the migrations applied to this schema, oldest first. */
  executed(): Promise<string[]>;
  /** Names of the migrations not applied yet. */
  pending(): Promise<string[]>;
}

/** A MikroORM driver class, as the `driver` option takes it. */
export type DriverClass = NonNullable<Options['driver']>;

/** Driver methods of the shared guard, by what they do (a test fails on any method in none of the lists). */
export interface GuardedMethods {
  readonly checked: readonly string[];
  readonly noSql: readonly string[];
  readonly rawSql: readonly string[];
}

/** The MikroORM-major-specific half of the PostgreSQL schema tenancy. */
export interface PgOrmAdapter {
  /** The installed `@mikro-orm/core` version. */
  readonly version: string;
  /** Its major (6 or 7). */
  readonly major: number;
  /** MikroORM's `PostgreSqlDriver`: the shared ORM's driver unless the app names a subclass. */
  readonly defaultDriver: DriverClass;
  /** Says whether a transaction handle has ended, and which one a savepoint is nested in. */
  readonly transactions: TransactionInspector;
  /** How the shared guard classifies the driver's methods (for the test that keeps the lists complete). */
  readonly guardedMethods: GuardedMethods;
  /** True for MikroORM's PostgreSQL driver and its subclasses. */
  isPostgreSqlDriver(driver: unknown): boolean;
  /**
   * The shared ORM's driver class: the app's, guarded so that per-tenant entities never reach SQL through
   * it, whose pooled connections run the shared ORM's statements with the role's default `search_path`.
   */
  sharedDriverClass(Base: DriverClass, isTenantEntity: (entityName: string) => boolean): DriverClass;
  /** The shared ORM's pool, for tenant connections. */
  sharedPool(orm: MikroORM): SharedPool;
  /** A shared `contextName` must never equal a tenant EntityManager's name. @throws TenantError `ERR_INVALID_OPTION` */
  assertSharedContextName(contextName: unknown): void;
  /** Derives the tenancy's configuration from the shared ORM's; reserves its context-name prefix. */
  deriveTenantConfig(root: Configuration, input: TenantConfigInput): Configuration;
  /** Frees the tenancy's context-name prefix (when it closes, or its start fails). */
  releaseTenantConfig(root: Configuration): void;
  /** Removes a tenant's result-cache entries written by this process. */
  dropTenantCache(tenancyConfig: Configuration, tenantId: string): Promise<void>;
  /** A tenant's driver and root EntityManager; with a {@link SqlOnlyBinding} it builds SQL for a schema and runs none. */
  createTenantEntityManager(tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager,
    binding: TenantSchemaBinding | SqlOnlyBinding): EntityManager;
  /** The EntityManager behind `tenancy.em`. @param assertUsable called first on every use: throws once the tenancy is closed */
  createContextEntityManager(tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, assertUsable?: () => void): EntityManager;
  /** The tenant id of a tenant EntityManager. */
  tenantIdOf(em: EntityManager): string | undefined;
  /** The schema a tenant EntityManager is bound to. */
  schemaOf(em: EntityManager): string;
  /** MikroORM's Migrator on a tenant's EntityManager: its table lives in the tenant's schema. */
  migrator(em: EntityManager): TenantMigrator;
  /**
   * Applies every migration to the fresh schema `schema` inside a transaction that is then rolled back, and
   * resolves the names of the migrations; `em` (bound to `schema`) reports each statement it runs while
   * `recording.active` is set, which this sets around each migration.
   */
  recordMigrations(em: EntityManager, schema: string, table: string, recording: { active: boolean }): Promise<{ executed: string[] }>;
  /** The DDL creating the per-tenant tables in `schema` (`create schema` left out), built from the metadata alone. */
  tenantTablesSql(em: EntityManager, schema: string): Promise<string>;
  /** The DDL a tenant's schema lacks compared with the entities (safe: nothing is dropped), reading that schema only. */
  missingTablesSql(em: EntityManager, schema: string): Promise<string>;
}

const adapters = majorAdapterLoader<PgOrmAdapter>(path => typeof require === 'function'
  ? (require(path) as { adapter: PgOrmAdapter }).adapter
  : import(path).then((module: { adapter: PgOrmAdapter }) => module.adapter));

/**
 * The adapter of the installed MikroORM major, loaded on first call (only that major's folder is loaded,
 * so the other major's packages need not be installed). Called by `PostgresSchemaTenancy.init()`.
 * @throws TenantError `ERR_INVALID_OPTION` when the installed `@mikro-orm/core` is neither 6 nor 7
 */
export function loadOrmAdapter(): Promise<PgOrmAdapter> {
  return adapters.load();
}

/** The adapter {@link loadOrmAdapter} loaded, if it has. */
export function loadedOrmAdapter(): PgOrmAdapter | undefined {
  return adapters.loaded();
}

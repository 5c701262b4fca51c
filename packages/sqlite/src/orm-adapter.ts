/**
 * What the SQLite tenancy needs of MikroORM that differs between its majors: the tenant driver and
 * connection, the tenant configuration and EntityManagers, the shared driver's guard, schema tools,
 * transaction handles and connection set-up. `mikro-orm-6/` and `mikro-orm-7/` each implement it (their
 * `adapter.ts`); {@link loadOrmAdapter} picks one from the installed `@mikro-orm/core`, once per process.
 * Nothing outside those two folders reaches MikroORM internals, knex or kysely.
 * @module
 */
import { type Configuration, type EntityManager, type EventManager, type MetadataStorage, type MigrationsOptions, type MikroORM, type Options } from '@mikro-orm/core';
import { majorAdapterLoader } from '@mikro-tenant/sql';
import { TenantError, type TenantObserver } from '@mikro-tenant/core';
import type { SharedWriteRouter, SqlTransactions } from './shared-write-router.js';
import type { StatementGuard } from './shared-write-guard.js';
import type { SqliteHandle } from './sqlite-setup.js';
import type { RawHandle } from './tenant-handle.js';
import type { TenantEntityManager } from './tenant-entity-manager.js';

/** Where a tenant connection points and how its raw handle is prepared. */
export interface TenantBinding {
  /** Canonical tenant id. */
  readonly tenantId: string;
  /** Absolute path of the tenant's database file; must exist when the connection opens. */
  readonly file: string;
  /** Prepares a freshly opened handle (pragmas, ATTACH of the shared database). */
  readonly setup: (db: SqliteHandle) => void;
  /** Allows opening a file that does not exist yet (template and migration builds). @default false */
  readonly create?: boolean;
  /** Sends this tenant's writes of shared entities over the shared connection (see shared-write-router.ts). */
  readonly sharedWrites?: SharedWriteRouter;
  /** Checks every statement before it runs (refuses writes of the attached shared database). */
  readonly guard?: StatementGuard;
  /** Times each statement (the tenancy's statistics, metrics and traces) and hears of refused writes. */
  readonly observer?: TenantObserver;
  /** The tenant's size quota in bytes: SQLite refuses writes past it (`PRAGMA max_page_count`). */
  readonly quotaBytes?: number;
}

/** What the tenancy does with a tenant's connection (the rest is MikroORM's). */
export interface TenantConnectionControl {
  /** The tenant this connection belongs to, if bound. */
  readonly binding: TenantBinding | undefined;
  /** Opens the tenant's file now, synchronously, so a missing or unreadable file fails here. */
  open(): void;
  /** Closes the connection for good (the pool evicts the tenant, or deletes it); later queries fail with a coded error. */
  evict(): Promise<void>;
  /** Marks the tenant as being deleted: once closed, queries fail with `ERR_TENANT_DELETED`. */
  markDeleted(): void;
  /** Marks the tenancy as closing: once closed, queries fail with `ERR_TENANCY_CLOSED`. */
  markTenancyClosed(): void;
}

/** An EntityManager bound to one tenant (an instance of the app's `entityManager` class). */
export type TenantEntityManagerOf<EM extends EntityManager = EntityManager> = TenantEntityManager<EM>;

/** What a tenancy decides for its tenant configuration; everything else comes from the shared ORM. */
export interface TenantConfigInput {
  /** A database name for MikroORM's schema tools (tenant connections open their own files). */
  dbName: string;
  /** Migrations of tenant databases. */
  migrations: MigrationsOptions;
  /** The app's schema-generator options, as given (before the shared ORM's skip the tenant tables). */
  schemaGenerator: Options['schemaGenerator'];
  /** Tables of the shared database: never created or dropped in tenant files. */
  sharedTables: string[];
}

/** A tenant's migrations, through MikroORM's Migrator bound to the tenant's EntityManager. */
export interface TenantMigrator {
  /** Applies the pending migrations; resolves the names applied. */
  up(): Promise<string[]>;
  /** Names of the migrations applied to this database, oldest first. */
  executed(): Promise<string[]>;
  /** Names of the migrations not applied yet. */
  pending(): Promise<string[]>;
}

/** Applies a bundled list of migrations faster than MikroORM's Migrator (`listed-migrations.ts`, both majors). */
export interface ListedMigrationRunner {
  /** Names in the tenant's migrations table, in the order they ran; `undefined` when there is no such table. */
  executed(em: EntityManager): Promise<string[] | undefined>;
  /** The listed migrations not in `executed`, in list order. */
  pending(executed: string[]): { readonly name: string }[];
  /** Runs `pending` in one transaction; resolves the names applied now and the table's names after. */
  apply(em: EntityManager, executed: string[], pending: { readonly name: string }[]): Promise<{ applied: string[]; executed: string[] }>;
  /** Migrates on a bare handle of the tenant's file when that needs nothing of MikroORM; undefined (nothing done) when it cannot. */
  applyOnHandle(db: RawHandle, config: Configuration): Promise<{ applied: string[]; executed: string[] } | undefined>;
}

/** A tenant's schema generator (MikroORM's, bound to the tenant's EntityManager); every change is safe (nothing dropped). */
export interface TenantSchemaTools {
  /** The DDL creating the tenant tables in an empty database. */
  createSql(): Promise<string>;
  /** The DDL that would bring this database's tables up to the entities, without drops; empty when up to date. */
  updateSql(): Promise<string>;
  /** Runs {@link updateSql}. */
  update(): Promise<void>;
}

/** The shared ORM's schema generator, under names that do not change with the major. */
export interface SharedSchemaTools {
  /** Creates the shared tables (`createSchema()` in MikroORM 6, `create()` in 7). */
  create(): Promise<void>;
  /** Brings the shared tables up to the entities (`updateSchema()` in 6, `update()` in 7). */
  update(): Promise<void>;
  /** Drops the shared tables (`dropSchema()` in 6, `drop()` in 7). */
  drop(): Promise<void>;
}

/** What writing the shared database directly needs of its better-sqlite3 handle. */
export interface SharedHandle {
  prepare(sql: string): { run(...params: unknown[]): { changes: number } };
  readonly inTransaction: boolean;
  readonly open: boolean;
}

/** A MikroORM driver class, as the `driver` option takes it. */
export type DriverClass = NonNullable<Options['driver']>;

/** Driver methods of the shared guard, by what they do (a test fails on any method in none of the lists). */
export interface GuardedMethods {
  /** Methods that reach SQL for the entities their arguments name; each checks all of them first. */
  readonly checked: readonly string[];
  /** Methods that send no SQL of their own. */
  readonly noSql: readonly string[];
  /** Methods that run SQL their caller wrote (`em.execute()`). */
  readonly rawSql: readonly string[];
}

export type { SqlTransactions, StatementGuard };

/** The MikroORM-major-specific half of the SQLite tenancy. */
export interface OrmAdapter {
  /** The installed `@mikro-orm/core` version. */
  readonly version: string;
  /** Its major (6 or 7). */
  readonly major: number;
  /** The shared ORM's driver when the app names none (`BetterSqliteDriver` in 6, `SqliteDriver` in 7). */
  readonly defaultDriver: DriverClass;
  /** Package of {@link defaultDriver}, for messages and docs. */
  readonly driverPackage: string;
  /** Says whether a transaction handle has ended, and which one a savepoint is nested in. */
  readonly transactions: SqlTransactions;
  /** How the shared guard classifies the driver's methods (for the test that keeps the lists complete). */
  readonly guardedMethods: GuardedMethods;
  /**
   * The shared ORM's driver class, refusing per-tenant entities on every route to SQL:
   * `ERR_NO_TENANT_CONTEXT` with no tenant active, `ERR_TENANT_ENTITY_ON_SHARED_EM` inside one.
   */
  guardSharedDriver(Base: DriverClass, isTenantEntity: (entityName: string) => boolean): DriverClass;
  /**
   * The shared ORM's options with `statements` run on each connection MikroORM opens, before the app's own
   * hook (`pool.afterCreate` in 6, `onCreateConnection` in 7), which can override them.
   */
  withConnectionSetup(options: Options, statements: readonly string[]): Options;
  /**
   * The shared ORM's options with waits for other processes' write locks done with timers, up to `budgetMs`
   * per statement, instead of inside SQLite (whose `busy_timeout` the caller sets to 0): transactions
   * begin with `BEGIN IMMEDIATE`, and a `BEGIN` or a statement outside a transaction that finds the
   * database locked is tried again after a short sleep (knex dialect on 6, kysely dialect on 7).
   */
  withAsyncBusyWaits(options: Options, budgetMs: number): Options;
  /**
   * The shared connection's better-sqlite3 handle once it is set up, when {@link withAsyncBusyWaits}
   * made the connection (its `busy_timeout` is 0, so a direct statement never sleeps); else undefined.
   */
  sharedHandle(orm: MikroORM): SharedHandle | undefined;
  /** Makes the shared ORM's schema generator (and migration diffing) skip these tables. */
  skipTablesInSharedSchema(orm: MikroORM, tables: string[]): void;
  /** The shared ORM's schema generator. */
  sharedSchema(orm: MikroORM): SharedSchemaTools;
  /** Derives the tenancy's configuration from the shared ORM's; reserves its context-name prefix. @throws TenantError `ERR_INVALID_OPTION` */
  deriveTenantConfig(root: Configuration, input: TenantConfigInput): Configuration;
  /** Frees the tenancy's context-name prefix (when it closes, or its start fails). */
  releaseTenantConfig(root: Configuration): void;
  /** Removes a tenant's result-cache entries written by this process. */
  dropTenantCache(tenancyConfig: Configuration, tenantId: string): Promise<void>;
  /** A tenant's driver (not connected yet) and root EntityManager; without a binding it can only generate SQL. */
  createTenantEntityManager(tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, binding?: TenantBinding): TenantEntityManagerOf;
  /**
   * The EntityManager behind `tenancy.em`: resolves to the active tenant's on every call.
   * @param assertUsable called first on every use: throws once the tenancy is closed
   */
  createContextEntityManager<EM extends EntityManager = EntityManager>(tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, assertUsable?: () => void): TenantEntityManagerOf<EM>;
  /** The tenant connection of a tenant EntityManager. */
  connectionOf(em: EntityManager): TenantConnectionControl;
  /** MikroORM's Migrator on a tenant's EntityManager. */
  migrator(em: EntityManager): TenantMigrator;
  /** A faster runner of these tenant migrations options, where the major has one that covers them; else null (use {@link migrator}). */
  listedMigrationRunner(options: MigrationsOptions): ListedMigrationRunner | null;
  /** MikroORM's schema generator on a tenant's EntityManager. */
  schemaTools(em: EntityManager): TenantSchemaTools;
}

const adapters = majorAdapterLoader<OrmAdapter>(path => typeof require === 'function'
  ? (require(path) as { adapter: OrmAdapter }).adapter
  : import(path).then((module: { adapter: OrmAdapter }) => module.adapter));

/**
 * The adapter of the installed MikroORM major, loaded on first call (only that major's folder is loaded,
 * so the other major's packages need not be installed). Called by `SqliteTenancy.init()`.
 * @throws TenantError `ERR_INVALID_OPTION` when the installed `@mikro-orm/core` is neither 6 nor 7
 */
export function loadOrmAdapter(): Promise<OrmAdapter> {
  return adapters.load();
}

/** The adapter {@link loadOrmAdapter} loaded, if it has. */
export function loadedOrmAdapter(): OrmAdapter | undefined {
  return adapters.loaded();
}

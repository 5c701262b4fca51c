/**
 * What the row strategy needs of MikroORM that differs between its majors: the guarded EntityManager class,
 * the QueryBuilder scope, how the driver is told an entity, the PostgreSQL row level security binding, the
 * ended-lives guard and transaction handles. `mikro-orm-6/` and `mikro-orm-7/` each implement it
 * (their `adapter.ts`); {@link loadOrmAdapter} picks one from the installed `@mikro-orm/core`, once per
 * process. Nothing outside those two folders reaches knex, kysely, `@mikro-orm/knex` or `@mikro-orm/sql`.
 * @module
 */
import type { EventSubscriber } from '@mikro-orm/core';
import type { TransactionInspector } from '@mikro-tenant/core';
import { majorAdapterLoader } from '@mikro-tenant/sql';
import type { DriverEntityName } from './entity-metadata.js';
import type { SqlConnection, SqlEntityManager } from './sql-entity-manager.js';
import type { TenantIncarnations } from './tenant-incarnations.js';
import type { TenantOwnedModel } from './tenant-owned-model.js';

/** What every EntityManager of one tenancy checks against. */
export interface RowGuardSettings {
  readonly model: TenantOwnedModel;
  /** The ORM-level guard is on. */
  readonly guard: boolean;
  /** The database limits statements to the tenant itself (PostgreSQL row level security). */
  readonly databaseEnforces: boolean;
}

/** An EntityManager class, as MikroORM's `entityManager` option takes it. */
export type EntityManagerClass = abstract new (...args: any[]) => SqlEntityManager;

/** The MikroORM-major-specific half of the row strategy. */
export interface RowOrmAdapter {
  /** The installed `@mikro-orm/core` version. */
  readonly version: string;
  /** Its major (6 or 7). */
  readonly major: number;
  /** Says whether a transaction handle has ended, and which one a savepoint is nested in. */
  readonly transactions: TransactionInspector;
  /**
   * The EntityManager class a tenancy extends: the app's own (`entityManager` option) or MikroORM's.
   * @throws TenantError `ERR_INVALID_OPTION` for a class that is not a SQL driver's EntityManager
   */
  sqlEntityManagerBase(given: unknown): EntityManagerClass;
  /** The EntityManager class of a tenancy over `Base`: every way to a tenant-owned entity limited to the tenant, or refused. */
  rowEntityManagerClass(Base: EntityManagerClass, settings: RowGuardSettings): EntityManagerClass;
  /** What the driver's methods (`count()`) take for an entity: its class name on 6, its class on 7. */
  readonly driverEntityName: DriverEntityName;
  /** Makes the shared connection send each statement outside a transaction with its scope's setting in front. */
  bindScopePerStatement(connection: SqlConnection): void;
  /** The subscriber setting the scope of a transaction once, when it begins. */
  scopePerTransaction(): EventSubscriber;
  /** Makes the shared connection refuse statements of EntityManagers of a deleted tenant's ended life. */
  refuseEndedLives(connection: SqlConnection, incarnations: TenantIncarnations): void;
}

const adapters = majorAdapterLoader<RowOrmAdapter>(path => typeof require === 'function'
  ? (require(path) as { adapter: RowOrmAdapter }).adapter
  : import(path).then((module: { adapter: RowOrmAdapter }) => module.adapter));

/**
 * The adapter of the installed MikroORM major, loaded on first call (only that major's folder is loaded,
 * so the other major's packages need not be installed). Called by `RowTenancy.init()`.
 * @throws TenantError `ERR_INVALID_OPTION` when the installed `@mikro-orm/core` is neither 6 nor 7
 */
export function loadOrmAdapter(): Promise<RowOrmAdapter> {
  return adapters.load();
}

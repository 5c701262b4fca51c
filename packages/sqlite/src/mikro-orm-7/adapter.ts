/**
 * The MikroORM 7 implementation of {@link OrmAdapter}: `@mikro-orm/sqlite` (better-sqlite3 13, kysely),
 * `@mikro-orm/sql` and `@mikro-orm/migrations`. Loaded by `loadOrmAdapter()` when 7 is installed.
 * @module
 */
import { Utils, type EntityManager } from '@mikro-orm/core';
import { SqliteDriver } from '@mikro-orm/sqlite';
import type { DriverClass, OrmAdapter, TenantConnectionControl } from '../orm-adapter.js';
import { withConnectionSetup } from './connection-setup.js';
import { readyHandleOf, withAsyncBusyWaits } from './shared-busy-waits.js';
import { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS, guardSharedDriver, kyselyTransactions } from '@mikro-tenant/sql/mikro-orm-7';
import { listedMigrationRunner } from '../listed-migrations.js';
import { tenantMigrator } from './migrator.js';
import { sharedSchemaTools, skipTablesInSharedSchema, tenantSchemaTools } from './schema-generator.js';
import { dropTenantCache, releaseTenantConfig } from './tenant-config.js';
import { createContextEntityManager, createTenantEntityManager, deriveTenantConfig } from './tenant-entity-manager.js';

/** MikroORM 7's half of the SQLite tenancy. */
export const adapter: OrmAdapter = Object.freeze<OrmAdapter>({
  version: Utils.getORMVersion(),
  major: 7,
  defaultDriver: SqliteDriver as unknown as DriverClass,
  driverPackage: '@mikro-orm/sqlite',
  transactions: kyselyTransactions,
  guardedMethods: { checked: Object.keys(CHECKED_METHODS), noSql: NO_SQL_METHODS, rawSql: RAW_SQL_METHODS },
  guardSharedDriver: (Base: DriverClass, isTenantEntity: (entityName: string) => boolean) => guardSharedDriver(Base as unknown as typeof SqliteDriver, isTenantEntity) as unknown as DriverClass,
  withConnectionSetup,
  withAsyncBusyWaits,
  sharedHandle: orm => readyHandleOf(orm.em.getConnection()),
  skipTablesInSharedSchema,
  sharedSchema: sharedSchemaTools,
  deriveTenantConfig,
  releaseTenantConfig,
  dropTenantCache,
  createTenantEntityManager,
  createContextEntityManager: createContextEntityManager as OrmAdapter['createContextEntityManager'],
  connectionOf: (em: EntityManager) => em.getConnection() as unknown as TenantConnectionControl,
  migrator: tenantMigrator,
  listedMigrationRunner: options => listedMigrationRunner(options) as never,
  schemaTools: tenantSchemaTools,
});

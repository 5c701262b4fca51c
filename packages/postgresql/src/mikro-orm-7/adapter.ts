/**
 * The MikroORM 7 implementation of {@link PgOrmAdapter}: `@mikro-orm/postgresql` (`pg`, kysely),
 * `@mikro-orm/sql` and `@mikro-orm/migrations`. Loaded by `loadOrmAdapter()` when 7 is installed.
 * @module
 */
import { Utils, type EntityManager, type MikroORM } from '@mikro-orm/core';
import type { DriverClass, PgOrmAdapter } from '../orm-adapter.js';
import { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS, kyselyTransactions } from '@mikro-tenant/sql/mikro-orm-7';
import { PostgreSqlDriver, isPostgreSqlDriver, sharedDriverClass, sharedPoolOf } from './shared-pg-driver.js';
import { assertSharedContextName } from '@mikro-tenant/sql';
import { dropTenantCache, releaseTenantConfig } from './tenant-config.js';
import { createContextEntityManager, createTenantEntityManager, deriveTenantConfig, type TenantEntityManager } from './tenant-entity-manager.js';
import { missingTablesSql, recordMigrations, tenantMigrator, tenantTablesSql } from './tenant-schema-tools.js';

const tenantEm = (em: EntityManager) => em as unknown as TenantEntityManager;

/** MikroORM 7's half of the PostgreSQL schema tenancy. */
export const adapter: PgOrmAdapter = Object.freeze<PgOrmAdapter>({
  version: Utils.getORMVersion(),
  major: 7,
  defaultDriver: PostgreSqlDriver as unknown as DriverClass,
  transactions: kyselyTransactions,
  guardedMethods: { checked: Object.keys(CHECKED_METHODS), noSql: NO_SQL_METHODS, rawSql: RAW_SQL_METHODS },
  isPostgreSqlDriver,
  sharedDriverClass: (Base, isTenantEntity) => sharedDriverClass(Base as unknown as typeof PostgreSqlDriver, isTenantEntity) as unknown as DriverClass,
  sharedPool: (orm: MikroORM) => sharedPoolOf(orm.em.getConnection()),
  assertSharedContextName,
  deriveTenantConfig,
  releaseTenantConfig,
  dropTenantCache,
  createTenantEntityManager,
  createContextEntityManager,
  tenantIdOf: em => tenantEm(em).tenantId,
  schemaOf: em => tenantEm(em).getDriver().config.get('schema')!,
  migrator: tenantMigrator,
  recordMigrations,
  tenantTablesSql,
  missingTablesSql,
});

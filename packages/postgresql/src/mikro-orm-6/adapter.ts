/**
 * The MikroORM 6 implementation of {@link PgOrmAdapter}: `@mikro-orm/postgresql`, `@mikro-orm/knex` (knex)
 * and `@mikro-orm/migrations`. Loaded by `loadOrmAdapter()` when 6 is installed.
 * @module
 */
import { Utils, type EntityManager, type MikroORM } from '@mikro-orm/core';
import type { Knex } from 'knex';
import type { DriverClass, PgOrmAdapter } from '../orm-adapter.js';
import { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS, knexTransactions } from '@mikro-tenant/sql/mikro-orm-6';
import { PostgreSqlDriver, isPostgreSqlDriver, sharedDriverClass } from './shared-pg-driver.js';
import { assertSharedContextName } from '@mikro-tenant/sql';
import { dropTenantCache, releaseTenantConfig } from './tenant-config.js';
import { createContextEntityManager, createTenantEntityManager, deriveTenantConfig, type TenantEntityManager } from './tenant-entity-manager.js';
import { missingTablesSql, recordMigrations, tenantMigrator, tenantTablesSql } from './tenant-schema-tools.js';

const tenantEm = (em: EntityManager) => em as unknown as TenantEntityManager;

/** MikroORM 6's half of the PostgreSQL schema tenancy. */
export const adapter: PgOrmAdapter = Object.freeze<PgOrmAdapter>({
  version: Utils.getORMVersion(),
  major: 6,
  defaultDriver: PostgreSqlDriver as unknown as DriverClass,
  transactions: knexTransactions,
  guardedMethods: { checked: Object.keys(CHECKED_METHODS), noSql: NO_SQL_METHODS, rawSql: RAW_SQL_METHODS },
  isPostgreSqlDriver,
  sharedDriverClass: (Base, isTenantEntity) => sharedDriverClass(Base as unknown as typeof PostgreSqlDriver, isTenantEntity) as unknown as DriverClass,
  sharedPool: (orm: MikroORM) => {
    // The shared driver's connection object stays the same across reconnects (its knex instance does not).
    const connection = orm.em.getConnection() as unknown as { getKnex(): Knex };
    return () => connection.getKnex();
  },
  assertSharedContextName,
  deriveTenantConfig,
  releaseTenantConfig,
  dropTenantCache,
  createTenantEntityManager: (config, metadata, eventManager, binding) => createTenantEntityManager(config, metadata, eventManager, binding),
  createContextEntityManager,
  tenantIdOf: em => tenantEm(em).tenantId,
  schemaOf: em => tenantEm(em).getDriver().config.get('schema')!,
  migrator: em => {
    const migrator = tenantMigrator(tenantEm(em));
    return {
      up: async () => (await migrator.up()).map(m => m.name),
      executed: async () => (await migrator.getExecutedMigrations()).map(m => m.name),
      pending: async () => (await migrator.getPendingMigrations()).map(m => m.name),
    };
  },
  recordMigrations: (em, schema, table, recording) => recordMigrations(tenantEm(em), schema, table, recording),
  tenantTablesSql: (em, schema) => tenantTablesSql(tenantEm(em), schema),
  missingTablesSql: (em, schema) => missingTablesSql(tenantEm(em), schema),
});

/**
 * The MikroORM 6 implementation of {@link OrmAdapter}: `@mikro-orm/better-sqlite` (better-sqlite3 11),
 * `@mikro-orm/knex` and `@mikro-orm/migrations`. Loaded by `loadOrmAdapter()` when 6 is installed.
 * @module
 */
import { Utils, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import type { DriverClass, OrmAdapter, TenantConnectionControl } from '../orm-adapter.js';
import { withConnectionSetup } from './connection-setup.js';
import { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS, guardSharedDriver, knexTransactions } from '@mikro-tenant/sql/mikro-orm-6';
import { listedMigrationRunner } from '../listed-migrations.js';
import { tenantMigrator } from './migrator.js';
import { schemaGeneratorFor, skipTablesInSharedSchema } from './schema-generator.js';
import { withAsyncBusyWaits } from './shared-busy-waits.js';
import { lastHandleOf } from './shared-knex-dialect.js';
import { dropTenantCache, releaseTenantConfig } from './tenant-config.js';
import { createContextEntityManager, createTenantEntityManager, deriveTenantConfig } from './tenant-entity-manager.js';

/** What the shared-pragma hook needs of a better-sqlite3 handle. */
interface ExecHandle {
  exec(source: string): unknown;
}

/** The shared ORM's schema generator in MikroORM 6 (`orm.schema`). */
const sharedSchemaOf = (orm: MikroORM) => orm.schema as unknown as ReturnType<typeof schemaGeneratorFor>;

/** MikroORM 6's half of the SQLite tenancy. */
export const adapter: OrmAdapter = Object.freeze<OrmAdapter>({
  version: Utils.getORMVersion(),
  major: 6,
  defaultDriver: BetterSqliteDriver as unknown as DriverClass,
  driverPackage: '@mikro-orm/better-sqlite',
  transactions: knexTransactions,
  guardedMethods: { checked: Object.keys(CHECKED_METHODS), noSql: NO_SQL_METHODS, rawSql: RAW_SQL_METHODS },
  guardSharedDriver: (Base: DriverClass, isTenantEntity: (entityName: string) => boolean) =>
    guardSharedDriver(Base as unknown as typeof BetterSqliteDriver, isTenantEntity) as unknown as DriverClass,
  withConnectionSetup: (options, statements) => withConnectionSetup<ExecHandle>(options, handle => {
    for (const statement of statements) {
      handle.exec(statement);
    }
  }),
  withAsyncBusyWaits,
  sharedHandle: orm => lastHandleOf((orm.em.getConnection() as unknown as AbstractSqlConnection).getKnex().client),
  skipTablesInSharedSchema: (orm, tables) => skipTablesInSharedSchema(orm, tables),
  sharedSchema: orm => ({
    create: () => sharedSchemaOf(orm).createSchema(),
    update: () => sharedSchemaOf(orm).updateSchema(),
    drop: () => sharedSchemaOf(orm).dropSchema(),
  }),
  deriveTenantConfig,
  releaseTenantConfig,
  dropTenantCache,
  createTenantEntityManager,
  createContextEntityManager: createContextEntityManager as OrmAdapter['createContextEntityManager'],
  connectionOf: (em: EntityManager) => em.getConnection() as unknown as TenantConnectionControl,
  migrator: tenantMigrator,
  listedMigrationRunner: options => listedMigrationRunner(options) as never,
  schemaTools: em => {
    const generator = schemaGeneratorFor(em as never);
    return {
      createSql: () => generator.getCreateSchemaSQL({ wrap: false }),
      updateSql: () => generator.getUpdateSchemaSQL({ wrap: false, safe: true }),
      update: () => generator.updateSchema({ safe: true }),
    };
  },
});

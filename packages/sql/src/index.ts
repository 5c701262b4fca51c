/**
 * `@mikro-tenant/sql`: what mikro-tenant's SQL strategies share whatever the MikroORM major. The parts that
 * depend on the major are at `@mikro-tenant/sql/mikro-orm-6` and `@mikro-tenant/sql/mikro-orm-7`; each
 * strategy's adapter for that major imports one of them, so a process loads only its major's code.
 * @module
 */
export { followTenantContext } from './global-entity-manager.js';
export type { SqlTransactions } from './sql-transactions.js';
export { SUPPORTED_MIKRO_ORM_MAJORS, installedMikroOrmMajor, majorAdapterLoader } from './major-adapter-loader.js';
export type { AdapterImport, MajorAdapterLoader } from './major-adapter-loader.js';
export { tenantEntityManagerClasses } from './tenant-entity-manager-classes.js';
export type { EntityManagerClass, TenantEntityManagerClasses, TenantEntityManagerClassPair, TenantEntityManagerTraits } from './tenant-entity-manager-classes.js';
export { forkGlobalContext, tenantFork } from './tenant-fork.js';
export { sqliteDatabaseFile } from './sqlite-database-file.js';
export { assertSharedContextName, releaseContextPrefix, reserveContextPrefix } from './context-name-prefixes.js';

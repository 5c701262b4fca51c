/**
 * `@mikro-tenant/sql/mikro-orm-7`: the SQL strategies' shared code for MikroORM 7 (`@mikro-orm/sql`, kysely).
 * @module
 */
export { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS, guardSharedDriver } from './shared-driver-guard.js';
export { kyselyTransactions, trackSavepoint, trackSavepointsOf } from './kysely-transactions.js';
export { bindTenantLayer, dropTenantCache, layerTenancyConfig, setTenantDriver, tenantLayerOf } from './layered-tenant-config.js';
export type { TenancyLayerInit, TenantLayer } from './layered-tenant-config.js';

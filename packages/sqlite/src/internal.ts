/**
 * `@mikro-tenant/sqlite/internal`: the MikroORM-major-specific half of the tenancy, for this repository's
 * tests and benchmarks (and for the curious). Not part of the public API: it changes with MikroORM.
 * @module
 */
export { loadOrmAdapter, loadedOrmAdapter } from './orm-adapter.js';
export type {
  DriverClass, GuardedMethods, OrmAdapter, SharedSchemaTools, TenantBinding, TenantConnectionControl, TenantMigrator, TenantSchemaTools,
} from './orm-adapter.js';

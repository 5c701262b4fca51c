/**
 * `@mikro-tenant/postgresql/internal`: the MikroORM-major-specific half of the tenancy, for this
 * repository's tests (and for the curious). Not part of the public API: it changes with MikroORM.
 * @module
 */
export { loadOrmAdapter, loadedOrmAdapter } from './orm-adapter.js';
export type { DriverClass, GuardedMethods, PgOrmAdapter, SharedPool, SqlOnlyBinding, TenantMigrator, TenantSchemaBinding } from './orm-adapter.js';

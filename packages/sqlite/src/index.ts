export { SqliteTenancy } from './sqlite-tenancy.js';
export type { ReconcileReport, SharedORM, TenancyStats } from './sqlite-tenancy.js';
export { resolveTenancyOptions } from './options.js';
export type { SqliteTenancyOptions, SqliteTenancyConfig, ResolvedTenancyOptions } from './options.js';
export { TenantFiles, DEFAULT_NAME_PATTERN, placeNoOverwrite, removeDatabaseFiles } from './tenant-files.js';
export { DEFAULT_PRAGMAS, pragmaStatements } from './sqlite-setup.js';
export type { PragmaValue } from './sqlite-setup.js';
export { TemplateCache } from './template-cache.js';
export type { TenantMigrationsOptions, TenantSchemaSource, SchemaApplyResult } from './tenant-schema.js';
export {
  TenantEntityManager, TenantContextEntityManager, TenantSqliteDriver, TenantSqliteConnection,
} from './mikro-orm-bridge.js';
export type { TenantBinding } from './mikro-orm-bridge.js';
export { runAsCliTenant } from './cli-tenant.js';
export { runCli } from './cli/program.js';
export type { CliIo } from './cli/io.js';
export * from '@mikro-tenant/core';

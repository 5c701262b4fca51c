export { PostgresSchemaTenancy } from './postgres-schema-tenancy.js';
export type { SharedPostgresORM, PostgresTenancyStats } from './postgres-schema-tenancy.js';
export { resolvePostgresTenancyOptions } from './options.js';
export type { PostgresTenancyOptions, PostgresTenancyConfig, ResolvedPostgresTenancyOptions, TenantMigrationsOptions } from './options.js';
export { TenantSchemas, DEFAULT_SCHEMA_PATTERN, MAX_IDENTIFIER_BYTES } from './tenant-schemas.js';
export type { SchemaReconcileReport } from './schema-inventory.js';
export type { SchemaApplyResult, TenantSchemaSource, ProvisionTemplate } from './tenant-schema.js';
export { TenantEntityManager, TenantContextEntityManager } from './tenant-entity-manager.js';
export * from '@mikro-tenant/core';

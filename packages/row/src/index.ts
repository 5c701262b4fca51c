export { RowTenancy } from './row-tenancy.js';
export type { RowORM } from './row-tenancy.js';
export { resolveRowTenancyOptions } from './options.js';
export type { RowTenancyOptions, RowTenancyConfig, ResolvedRowTenancyOptions } from './options.js';
export type { RowReconcileReport } from './row-strategy.js';
export { rowSecurityStatements, TENANT_SETTING, ALL_TENANTS_SETTING, POLICY_NAME } from './row-security-sql.js';
export type { TenantOwnedTable } from './tenant-owned-model.js';
export * from '@mikro-tenant/core';

import { existsSync } from 'node:fs';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { CliError } from './cli-error.js';

/** The tenants a command works on, split by whether their database file is there. */
export interface TenantTargets {
  /** Tenants whose database file exists: registered ones in registry order, then files without a registry row. */
  present: string[];
  /** Registered tenants whose database file is missing (a `reconcile` finding). */
  missing: string[];
}

/**
 * The tenants of `migrate` and `migrate --check`: one (`--tenant`, which must exist) or every one ({@link everyTenant}).
 * @throws TenantError `ERR_INVALID_TENANT_ID`; CliError `ERR_TENANT_NOT_FOUND`
 */
export async function targetTenants(tenancy: SqliteTenancy, tenant?: string): Promise<TenantTargets> {
  if (tenant !== undefined) {
    const id = canonicalTenantId(tenant);
    if (!existsSync(tenancy.files.path(id))) {
      throw CliError.tenantNotFound(id);
    }
    return { present: [id], missing: [] };
  }
  const { registered, unregistered } = await everyTenant(tenancy);
  const present: string[] = [];
  const missing: string[] = [];
  for (const id of registered) {
    (existsSync(tenancy.files.path(id)) ? present : missing).push(id);
  }
  return { present: [...present, ...unregistered], missing };
}

/**
 * Every tenant an admin command should reach: the registered ones (in registry order) and the tenant
 * files in the folder without a registry row (a process that died before writing the row, a file copied
 * in by hand), so that `migrate`, `migrate --check` and `backup --all` never skip a tenant's data.
 * Scans the folder: for admin commands only.
 */
export async function everyTenant(tenancy: SqliteTenancy): Promise<{ registered: string[]; unregistered: string[] }> {
  const [records, files] = await Promise.all([tenancy.registry.list(), tenancy.files.scan()]);
  const registered = records.map(r => r.tenantId);
  const known = new Set(registered);
  return { registered, unregistered: files.filter(id => !known.has(id)).sort() };
}

/**
 * What `migrate` would still do to an existing tenant, writing nothing: the pending migrations' names, or
 * `['schema']` when the tenant schema is generated from the entities and its tables lag behind them.
 */
export async function pendingChanges(tenancy: SqliteTenancy, tenantId: string): Promise<string[]> {
  return tenancy.pendingMigrations(tenantId);
}

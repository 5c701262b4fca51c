import { existsSync } from 'node:fs';
import { SqlSchemaGenerator } from '@mikro-orm/knex';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { CliError } from './cli-error.js';

/** The tenants a command works on, split by whether their database file is there. */
export interface TenantTargets {
  /** Tenants whose database file exists, in registry order. */
  present: string[];
  /** Registered tenants whose database file is missing (a `reconcile` finding). */
  missing: string[];
}

/**
 * The tenants of `migrate` and `migrate --check`: one (`--tenant`, which must exist) or every registered one.
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
  const ids = (await tenancy.registry.list()).map(r => r.tenantId);
  const present: string[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    (existsSync(tenancy.files.path(id)) ? present : missing).push(id);
  }
  return { present, missing };
}

/**
 * What `migrate` would still do to an existing tenant, writing nothing: the pending migrations' names, or
 * `['schema']` when the tenant schema is generated from the entities and its tables lag behind them.
 */
export async function pendingChanges(tenancy: SqliteTenancy, tenantId: string): Promise<string[]> {
  if (tenancy.schema.kind === 'migrations') {
    return tenancy.pendingMigrations(tenantId);
  }
  return tenancy.run(tenantId, async em => {
    const sql = await new SqlSchemaGenerator(em).getUpdateSchemaSQL({ wrap: false, safe: true });
    return sql.trim() ? ['schema'] : [];
  }, { sharedContext: false });
}

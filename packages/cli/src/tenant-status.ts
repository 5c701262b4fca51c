import { TenantError, canonicalTenantId, type AdminTenancy } from '@mikro-tenant/core';
import { CliError } from './cli-error.js';

/** The tenants a command works on, split by whether their storage (file, schema) is there. */
export interface TenantTargets {
  /** Tenants whose storage exists: registered ones in registry order, then storage without a registry row. */
  present: string[];
  /** Registered tenants whose storage is missing (a `reconcile` finding). */
  missing: string[];
}

/**
 * The tenants of `migrate` and `migrate --check`: one (`--tenant`, which must exist) or every one
 * (`admin().everyTenant()`: the registered ones and storage without a registry row, so that no tenant's
 * data is skipped).
 * @throws TenantError `ERR_INVALID_TENANT_ID`; CliError `ERR_TENANT_NOT_FOUND`
 */
export async function targetTenants(tenancy: AdminTenancy, tenant?: string): Promise<TenantTargets> {
  if (tenant !== undefined) {
    const id = tenantIdOf(tenancy, tenant);
    if (!await tenancy.tenantExists(id)) {
      throw CliError.tenantNotFound(id);
    }
    return { present: [id], missing: [] };
  }
  const { present, missing, unregistered } = await tenancy.admin().everyTenant();
  return { present: [...present, ...unregistered], missing };
}

/**
 * A command-line tenant id in canonical form, checked by the tenancy's own rule (e.g. the length a
 * PostgreSQL schema name leaves).
 * @throws TenantError `ERR_INVALID_TENANT_ID`
 */
export function tenantIdOf(tenancy: AdminTenancy, input: string): string {
  return tenancy.tenantId(canonicalTenantId(input));
}

/**
 * What `migrate` would still do to an existing tenant, writing nothing: the pending migrations' names, or
 * `['schema']` when the tenant schema is generated from the entities and its tables lag behind them.
 */
export function pendingChanges(tenancy: AdminTenancy, tenantId: string): Promise<string[]> {
  return tenancy.pendingMigrations(tenantId);
}

/**
 * Refuses a command the tenancy's strategy does not have (`admin().unsupported`), before anything else.
 * @throws TenantError `ERR_NOT_SUPPORTED`
 */
export function refuseUnsupported(tenancy: AdminTenancy, command: 'backup' | 'restore' | 'template'): void {
  const admin = tenancy.admin();
  const why = admin.unsupported?.[command];
  if (why !== undefined) {
    throw TenantError.notSupported(command, admin.strategy, why);
  }
}

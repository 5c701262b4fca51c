import type { TenantUsageSummary } from '@mikro-tenant/core';
import type { Tenancy } from './core-types.js';
import type { TenantRow } from './admin-ui-pages.js';

/** What may start a tenant id: a search for anything else matches nothing, without asking the registry. */
const ID_PREFIX = /^[a-z0-9_-]{1,64}$/;

/** One page of the tenant list, and the cursor of the next one. */
export interface TenantListPage {
  rows: TenantRow[];
  /** The last id of this page when more follow. */
  next: string | undefined;
}

/**
 * The greatest string sorting before `prefix` that no tenant id sorts between: ids starting with `prefix`
 * are the rows after it. Tenant ids use only characters below U+007F, which ends it.
 */
function justBefore(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return `${prefix.slice(0, -1)}${String.fromCharCode(last - 1)}\u007f`;
}

/**
 * Reads one page of tenants from the registry: `limit` rows after `after`, or, with a search, the rows
 * whose id starts with `q` (a range of the registry's index: ids sharing a prefix sort together). Costs
 * one registry page and, when the tenancy can tell, one pending-migration check and one usage lookup (in
 * memory) per row shown.
 */
export async function loadTenantPage(tenancy: Tenancy, q: string, after: string | undefined, limit: number): Promise<TenantListPage> {
  if (q !== '' && !ID_PREFIX.test(q)) {
    return { rows: [], next: undefined };
  }
  const start = after ?? (q === '' ? undefined : justBefore(q));
  let infos = await tenancy.listTenants({ after: start, limit: limit + 1 });
  if (q !== '') {
    const end = infos.findIndex(info => !info.tenantId.startsWith(q));
    infos = end === -1 ? infos : infos.slice(0, end);
  }
  const next = infos.length > limit ? infos[limit - 1]!.tenantId : undefined;
  const rows = await Promise.all(infos.slice(0, limit).map(async (info): Promise<TenantRow> => ({
    ...info, pending: await pendingOf(tenancy, info.tenantId), usage: await usageOf(tenancy, info.tenantId),
  })));
  return { rows, next };
}

async function usageOf(tenancy: Tenancy, tenantId: string): Promise<TenantUsageSummary | undefined> {
  if (typeof tenancy.tenantUsage !== 'function') {
    return undefined;
  }
  try {
    return await tenancy.tenantUsage(tenantId);
  } catch {
    // A quota callback that fails for this tenant, or an id the tenancy refuses: the list still shows the row.
    return undefined;
  }
}

async function pendingOf(tenancy: Tenancy, tenantId: string): Promise<string[] | undefined> {
  if (typeof tenancy.pendingMigrations !== 'function') {
    return undefined;
  }
  try {
    return await tenancy.pendingMigrations(tenantId);
  } catch {
    // A registry row whose storage is gone or unreadable, or an id the tenancy refuses: the list still shows it.
    return undefined;
  }
}

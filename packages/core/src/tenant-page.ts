import { TenantError } from './errors.js';

/**
 * A page of the tenant list, in tenant-id order: the rows after `after` (the last id of the previous
 * page), at most `limit` of them. Reading a page costs the same with 100 tenants as with 100,000 (an
 * index range, no scan).
 *
 * @example
 * for (let page = await tenancy.listTenants({ limit: 500 }); page.length; page = await tenancy.listTenants({ after: page.at(-1)!.tenantId, limit: 500 })) { ... }
 */
export interface TenantPage {
  /** Only tenants whose id sorts after this one (exclusive). @default from the first */
  after?: string;
  /** At most this many rows (a positive whole number). @default all the rest */
  limit?: number;
}

/**
 * Checks a {@link TenantPage} before anything reads the registry.
 * @throws TenantError `ERR_INVALID_OPTION` for an `after` that is not a string or a `limit` that is not a positive whole number
 */
export function checkTenantPage(page: TenantPage | undefined): void {
  if (page === undefined) {
    return;
  }
  if (page === null || typeof page !== 'object') {
    throw TenantError.invalidOption('page', 'expected { after?, limit? }');
  }
  if (page.after !== undefined && typeof page.after !== 'string') {
    throw TenantError.invalidOption('page.after', 'expected the last tenant id of the previous page');
  }
  if (page.limit !== undefined && (!Number.isSafeInteger(page.limit) || page.limit < 1)) {
    throw TenantError.invalidOption('page.limit', `expected a positive whole number, got ${String(page.limit)}`);
  }
}

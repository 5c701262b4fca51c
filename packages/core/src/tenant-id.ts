import { Utils, helper } from '@mikro-orm/core';
import { TenantError } from './errors.js';

/** What callers may pass as a tenant: a primary key value (string or non-negative integer), or the tenant entity itself. */
export type TenantIdInput = string | number | bigint | object;

/** Longest tenant id accepted, in characters. Keeps every derived file name far below 255 bytes. */
export const MAX_TENANT_ID_LENGTH = 64;

const ALLOWED = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Turns a tenant id into its canonical string, or throws `ERR_INVALID_TENANT_ID`.
 *
 * Canonical ids are 1-64 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter or digit.
 * Upper case is rejected rather than folded, so two different ids can never share a database, even on
 * case-insensitive file systems; nothing is slugified. Numbers must be non-negative safe integers
 * (`7` and `'7'` are the same tenant). A MikroORM entity stands for its primary key.
 *
 * @throws TenantError `ERR_INVALID_TENANT_ID`
 * @example
 * canonicalTenantId(42)        // '42'
 * canonicalTenantId('acme-eu') // 'acme-eu'
 * canonicalTenantId('../x')    // throws ERR_INVALID_TENANT_ID
 */
export function canonicalTenantId(id: unknown): string {
  if (typeof id === 'object' && id !== null && Utils.isEntity(id)) {
    const pk = helper(id).getPrimaryKey();
    if (pk === null || pk === undefined || typeof pk === 'object') {
      throw TenantError.invalidTenantId(undefined, 'the entity has no single-column primary key yet (flush it first)');
    }
    return canonicalTenantId(pk);
  }
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw TenantError.invalidTenantId(id, 'numeric ids must be non-negative safe integers');
    }
    return String(id);
  }
  if (typeof id === 'bigint') {
    if (id < 0n) {
      throw TenantError.invalidTenantId(String(id), 'numeric ids must be non-negative');
    }
    return checkString(String(id));
  }
  if (typeof id !== 'string') {
    throw TenantError.invalidTenantId(id, 'expected a string or a number');
  }
  return checkString(id);
}

function checkString(id: string): string {
  if (id.length === 0) {
    throw TenantError.invalidTenantId(id, 'it is empty');
  }
  if (id.length > MAX_TENANT_ID_LENGTH) {
    throw TenantError.invalidTenantId(id, `it is longer than ${MAX_TENANT_ID_LENGTH} characters`);
  }
  if (!ALLOWED.test(id)) {
    throw TenantError.invalidTenantId(id,
      "use only a-z, 0-9, '_' and '-', starting with a letter or digit (upper case is not folded: lower-case the id first)");
  }
  return id;
}

/** True when `id` is a valid tenant id (see {@link canonicalTenantId}). Never throws. */
export function isValidTenantId(id: unknown): boolean {
  try {
    canonicalTenantId(id);
    return true;
  } catch {
    return false;
  }
}

import { Utils, helper } from '@mikro-orm/core';
import { TenantError } from './errors.js';

/** What callers may pass as a tenant: a primary key value (string or non-negative integer), or the tenant entity itself. */
export type TenantIdInput = string | number | bigint | object;

/** Longest tenant id accepted, in characters. Keeps every derived file name far below 255 bytes. */
export const MAX_TENANT_ID_LENGTH = 64;

const ALLOWED = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Reads the tenant id a MikroORM entity stands for. A strategy passes its own rule (say, a
 * `tenantIdOf` option for its tenant entity) so that an entity names the same tenant everywhere.
 */
export type EntityTenantId = (entity: object) => unknown;

/** The default {@link EntityTenantId}: the entity's single-column primary key. */
export function primaryKeyTenantId(entity: object): unknown {
  const pk = helper(entity).getPrimaryKey();
  if (pk === null || pk === undefined || typeof pk === 'object') {
    throw TenantError.invalidTenantId(undefined, 'the entity has no single-column primary key yet (flush it first)');
  }
  return pk;
}

/** True when `value` is a MikroORM entity instance (which, given as a tenant, stands for a tenant id). */
export function isEntityObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Utils.isEntity(value);
}

/**
 * Turns a tenant id into its canonical string, or throws `ERR_INVALID_TENANT_ID`.
 *
 * Canonical ids are 1-64 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter or digit.
 * Upper case is rejected rather than folded, so two different ids can never share a database, even on
 * case-insensitive file systems; nothing is slugified. Numbers must be non-negative safe integers
 * (`7` and `'7'` are the same tenant). A MikroORM entity stands for the id `entityTenantId` reads from
 * it (by default its primary key); a tenancy passes its own rule, so use `tenancy.tenantId(input)` there.
 *
 * @param entityTenantId reads the id an entity stands for @default {@link primaryKeyTenantId}
 * @throws TenantError `ERR_INVALID_TENANT_ID`
 * @example
 * canonicalTenantId(42)        // '42'
 * canonicalTenantId('acme-eu') // 'acme-eu'
 * canonicalTenantId('../x')    // throws ERR_INVALID_TENANT_ID
 */
export function canonicalTenantId(id: unknown, entityTenantId: EntityTenantId = primaryKeyTenantId): string {
  if (isEntityObject(id)) {
    const raw = entityTenantId(id);
    if (isEntityObject(raw) || raw === null || raw === undefined) {
      throw TenantError.invalidTenantId(undefined, 'the entity gives no tenant id (expected a string or a number from it)');
    }
    return canonicalTenantId(raw);
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

import type { Context } from 'koa';
import { TenantError, isEntityObject } from '@mikro-tenant/core';

/** Finds the tenant id of a request (sync or async); `undefined`, `null` or `''` when the request names none. */
export type TenantResolver = (ctx: Context) => unknown | Promise<unknown>;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/**
 * The logged-in user is the tenant, as set on `ctx.state.user` by the app's auth middleware. The default
 * resolver of `tenantMiddleware`. Without `property`, a user that is a MikroORM entity is handed over
 * whole, so the tenancy reads its id by its own rule (`tenantIdOf` of its tenant entity), and a plain
 * object gives its `id`; with `property`, that field is read.
 * @param property the user's field holding the tenant id @default undefined (the entity itself, else `id`)
 * @throws TenantError `ERR_INVALID_OPTION` when `property` is given and is not a non-empty string
 */
export function fromUser(property?: string): TenantResolver {
  if (property !== undefined && (typeof property !== 'string' || property === '')) {
    throw TenantError.invalidOption('fromUser(property)', 'expected the name of the user field holding the tenant id');
  }
  return ctx => {
    const user = ctx.state.user as Record<string, unknown> | undefined;
    if (property === undefined && isEntityObject(user)) {
      return user;
    }
    return user?.[property ?? 'id'];
  };
}

/**
 * A request header names the tenant.
 * @param name header name, case-insensitive @default 'X-Tenant-ID'
 * @throws TenantError `ERR_INVALID_OPTION` when `name` is not a valid header name
 */
export function fromHeader(name = 'X-Tenant-ID'): TenantResolver {
  if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
    throw TenantError.invalidOption('fromHeader(name)', 'expected an HTTP header name such as "X-Tenant-ID"');
  }
  const header = name.toLowerCase();
  return ctx => ctx.get(header) || undefined;
}

/**
 * The subdomain names the tenant (`acme.example.com` -> `acme`). Only a direct subdomain does:
 * `www.acme.example.com` and the bare domain name no tenant.
 * @param baseDomain the app's own domain, e.g. `'example.com'`
 *   @default undefined: Koa's `ctx.subdomains` (set `app.subdomainOffset` for deeper base domains)
 * @throws TenantError `ERR_INVALID_OPTION` when `baseDomain` is not a domain name
 */
export function fromSubdomain(baseDomain?: string): TenantResolver {
  if (baseDomain !== undefined && (typeof baseDomain !== 'string' || !DOMAIN.test(baseDomain))) {
    throw TenantError.invalidOption('fromSubdomain(baseDomain)', 'expected a domain name such as "example.com"');
  }
  const suffix = baseDomain === undefined ? undefined : `.${baseDomain.toLowerCase()}`;
  return ctx => {
    if (suffix === undefined) {
      return ctx.subdomains.length === 1 ? ctx.subdomains[0] : undefined;
    }
    const host = ctx.hostname.toLowerCase();
    if (!host.endsWith(suffix)) {
      return undefined;
    }
    const sub = host.slice(0, -suffix.length);
    return sub === '' || sub.includes('.') ? undefined : sub;
  };
}

import type { Context } from 'koa';

/** Finds the tenant id of a request; `undefined` when the request names none. */
export type TenantResolver = (ctx: Context) => unknown | Promise<unknown>;

/**
 * The logged-in user is the tenant: reads `ctx.state.user[property]`, as set by the app's auth middleware.
 * @param property the user's field holding the tenant id @default 'id'
 */
export function fromUser(property = 'id'): TenantResolver {
  return ctx => (ctx.state.user as Record<string, unknown> | undefined)?.[property] ?? undefined;
}

/**
 * A request header names the tenant.
 * @param name header name, case-insensitive @default 'X-Tenant-ID'
 */
export function fromHeader(name = 'X-Tenant-ID'): TenantResolver {
  const header = name.toLowerCase();
  return ctx => {
    const value = ctx.get(header);
    return value === '' ? undefined : value;
  };
}

/**
 * The left-most subdomain names the tenant (`acme.example.com` -> `acme`).
 * @param baseDomain the app's own domain; hosts that are not a direct subdomain of it name no tenant.
 *   @default undefined: Koa's `ctx.subdomains` (with `app.subdomainOffset`)
 */
export function fromSubdomain(baseDomain?: string): TenantResolver {
  const suffix = baseDomain ? `.${baseDomain.toLowerCase()}` : undefined;
  return ctx => {
    if (!suffix) {
      return ctx.subdomains.at(-1);
    }
    const host = ctx.hostname.toLowerCase();
    if (!host.endsWith(suffix)) {
      return undefined;
    }
    const sub = host.slice(0, -suffix.length);
    return sub === '' ? undefined : sub;
  };
}

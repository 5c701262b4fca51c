import type { Context, Middleware } from 'koa';
import { TenantError, canonicalTenantId, type Tenancy } from './core-types.js';
import { fromAnotherSite } from './csrf.js';
import { respondWithError, respondWithTenantError } from './http-errors.js';
import type { TenantSwitchReader } from './tenant-middleware.js';

/** Options of {@link tenantAdmin}: who is a superuser, and where the switch lives in their session. */
export interface TenantAdminOptions extends TenantSwitchReader {
  /** Stores the tenant a superuser switched to in their session; `undefined` clears it. */
  set(ctx: Context, tenantId: string | undefined): void | Promise<void>;
  /** Path prefix of the admin routes. @default '/admin/tenants' */
  prefix?: string;
}

function resolvePrefix(options: TenantAdminOptions): string {
  if (options === null || typeof options !== 'object') {
    throw TenantError.invalidOption('tenantAdmin(options)', 'expected { isSuperuser, get, set }');
  }
  for (const fn of ['isSuperuser', 'get', 'set'] as const) {
    if (typeof options[fn] !== 'function') {
      throw TenantError.invalidOption(fn, `expected a function: tenantAdmin needs isSuperuser(ctx), get(ctx) and set(ctx, tenantId)`);
    }
  }
  const prefix = (options.prefix ?? '/admin/tenants');
  if (typeof prefix !== 'string' || !/^\/[^?#\s]*[^/?#\s]$/.test(prefix)) {
    throw TenantError.invalidOption('prefix', 'expected a path such as "/admin/tenants" (leading slash, no trailing slash)');
  }
  return prefix;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Support routes for superusers (the admin switch):
 * - `GET {prefix}`: 200 `{ tenants: [{ id, sizeBytes, modifiedAt, createdAt, schemaVersion }] }`
 * - `POST {prefix}/:id/switch`: 204; afterwards the tenant middleware serves this superuser tenant `:id`'s data
 * - `POST {prefix}/switch/clear`: 204; back to their own tenant
 *
 * Everyone who is not a superuser gets 403 `ERR_FORBIDDEN`, and so does a POST a browser says comes from
 * another site (`Origin` of another host, or `Sec-Fetch-Site` cross-site or same-site); an invalid id 400 (checked before
 * anything touches the disk); an unknown tenant 404 (it is not created). Only the switching user's
 * session changes. Mount it before `tenantMiddleware`, and give that the same object as `adminSwitch`.
 *
 * @throws TenantError `ERR_INVALID_OPTION` at once, when an option has a wrong value
 * @example
 * const adminSwitch = {
 *   isSuperuser: ctx => ctx.state.user?.isSuperuser === true,
 *   get: ctx => ctx.session.switchedTenant,
 *   set: (ctx, id) => { ctx.session.switchedTenant = id; },
 * };
 * app.use(tenantAdmin(tenancy, adminSwitch));
 * app.use(tenantMiddleware(tenancy, { adminSwitch }));
 */
export function tenantAdmin(tenancy: Tenancy, options: TenantAdminOptions): Middleware {
  const prefix = resolvePrefix(options);
  const { isSuperuser, set } = options;
  const switchRoute = new RegExp(`^${escapeRegExp(prefix)}/([^/]+)/switch/?$`);
  return async (ctx, next) => {
    const { method, path } = ctx;
    const isList = method === 'GET' && (path === prefix || path === `${prefix}/`);
    const isClear = method === 'POST' && (path === `${prefix}/switch/clear` || path === `${prefix}/switch/clear/`);
    const switchMatch = method === 'POST' && !isClear ? switchRoute.exec(path) : null;
    if (!isList && !isClear && !switchMatch) {
      return next();
    }
    if (await isSuperuser(ctx) !== true) {
      return respondWithError(ctx, 'ERR_FORBIDDEN', 'Only superusers may use the tenant admin.');
    }
    // A page on another site must not switch a superuser's session (a form posted there carries their
    // cookies wherever SameSite does not stop it): the switch routes answer only same-site requests.
    if (method === 'POST' && fromAnotherSite(ctx)) {
      return respondWithError(ctx, 'ERR_FORBIDDEN', 'The tenant switch refuses requests from another site (Origin or Sec-Fetch-Site).');
    }
    try {
      if (isList) {
        const tenants = await tenancy.listTenants();
        ctx.body = {
          tenants: tenants.map(t => ({
            id: t.tenantId, sizeBytes: t.sizeBytes ?? null, modifiedAt: t.modifiedAt ?? null, createdAt: t.createdAt, schemaVersion: t.schemaVersion,
          })),
        };
        return;
      }
      if (isClear) {
        await set(ctx, undefined);
        ctx.status = 204;
        return;
      }
      const segment = switchMatch![1]!;
      let raw: string;
      try {
        raw = decodeURIComponent(segment);
      } catch {
        throw TenantError.invalidTenantId(segment, 'it is not valid URL encoding');
      }
      const tenantId = canonicalTenantId(raw);
      if (!await tenancy.tenantExists(tenantId)) {
        throw TenantError.tenantNotFound(tenantId);
      }
      await set(ctx, tenantId);
      ctx.status = 204;
    } catch (error) {
      if (error instanceof TenantError) {
        return respondWithTenantError(ctx, error);
      }
      throw error;
    }
  };
}

import type { Context, Middleware } from 'koa';
import { TenantError, canonicalTenantId, type Tenancy } from './core-types.js';
import { respondWithError, respondWithTenantError } from './http-errors.js';
import type { TenantSwitchReader } from './tenant-middleware.js';

/** Options of {@link tenantAdmin}: who is a superuser, and where the switch lives in their session. */
export interface TenantAdminOptions extends TenantSwitchReader {
  /** Stores the tenant a superuser switched to in their session; `undefined` clears it. */
  set(ctx: Context, tenantId: string | undefined): void | Promise<void>;
  /** Path prefix of the admin routes. @default '/admin/tenants' */
  prefix?: string;
}

/**
 * Support routes for superusers (the admin switch):
 * - `GET {prefix}`: 200 `{ tenants: [{ id, sizeBytes, modifiedAt, createdAt, schemaVersion }] }`
 * - `POST {prefix}/:id/switch`: 204; afterwards the tenant middleware serves that superuser tenant `:id`'s data
 * - `POST {prefix}/switch/clear`: 204; back to their own tenant
 *
 * Everyone who is not a superuser gets 403 `ERR_FORBIDDEN`; an invalid id 400 (nothing touches the
 * disk); an unknown tenant 404 (it is not created). Only the switching user's session changes.
 * Pass the same options as `adminSwitch` to `tenantMiddleware`.
 */
export function tenantAdmin(tenancy: Tenancy, options: TenantAdminOptions): Middleware {
  const prefix = (options.prefix ?? '/admin/tenants').replace(/\/+$/, '');
  const switchRoute = new RegExp(`^${escape(prefix)}/([^/]+)/switch/?$`);
  return async (ctx, next) => {
    const path = ctx.path;
    const isList = ctx.method === 'GET' && (path === prefix || path === `${prefix}/`);
    const isClear = ctx.method === 'POST' && (path === `${prefix}/switch/clear`);
    const switchMatch = ctx.method === 'POST' && !isClear ? switchRoute.exec(path) : null;
    if (!isList && !isClear && !switchMatch) {
      return next();
    }
    if (!await options.isSuperuser(ctx)) {
      return respondWithError(ctx, 403, 'ERR_FORBIDDEN', 'Only superusers may use the tenant admin.');
    }
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
      await options.set(ctx, undefined);
      ctx.status = 204;
      return;
    }
    try {
      let raw: string;
      try {
        raw = decodeURIComponent(switchMatch![1]!);
      } catch {
        throw TenantError.invalidTenantId(switchMatch![1], 'it is not valid URL encoding');
      }
      const tenantId = canonicalTenantId(raw);
      if (!await tenancy.tenantExists(tenantId)) {
        throw TenantError.tenantNotFound(tenantId);
      }
      await options.set(ctx, tenantId);
      ctx.status = 204;
    } catch (error) {
      if (error instanceof TenantError) {
        return respondWithTenantError(ctx, error);
      }
      throw error;
    }
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

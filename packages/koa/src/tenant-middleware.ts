import type { Context, Middleware } from 'koa';
import { TenantError, canonicalTenantId, type EntityManagerOf, type Tenancy } from './core-types.js';
import { respondWithTenantError } from './http-errors.js';
import { fromUser, type TenantResolver } from './resolvers.js';

/** How the admin switch is read by the tenant middleware (see `tenantAdmin`). */
export interface TenantSwitchReader {
  /** Whether the request's user may look at other tenants' data. */
  isSuperuser(ctx: Context): boolean | Promise<boolean>;
  /** The tenant id the user switched to, stored in their session; `undefined` when not switched. */
  get(ctx: Context): unknown | Promise<unknown>;
}

/** Options of {@link tenantMiddleware}. */
export interface TenantMiddlewareOptions {
  /** Finds the tenant of a request. @default fromUser() (`ctx.state.user.id`) */
  resolve?: TenantResolver;
  /** Answer 401 `ERR_NO_TENANT_CONTEXT` when no tenant is found; when false, go on without a tenant. @default true */
  required?: boolean;
  /** Honour a superuser's admin switch (the same object given to `tenantAdmin`). @default none */
  adminSwitch?: TenantSwitchReader;
}

/** What the middleware puts on `ctx.state`. */
export interface TenantState<EM = unknown> {
  /** Canonical id of the request's tenant. */
  tenantId: string;
  /** The tenant's EntityManager fork for this request (also what `tenancy.em` resolves to). */
  em: EM;
  /** True when a superuser is looking at another tenant through the admin switch. */
  tenantSwitched: boolean;
}

/**
 * Resolves the tenant of each request and runs everything downstream as that tenant: inside
 * `tenancy.run()`, so `tenancy.em` and MikroORM's `RequestContext` resolve to the tenant's fork, which
 * is also `ctx.state.em` (with `ctx.state.tenantId`). The tenant's connection stays open until the
 * response is done. Invalid ids answer 400, unknown tenants (with auto-creation off) 404, no tenant 401,
 * as `{ error: { code, message } }`.
 *
 * @example
 * app.use(session).use(auth); // sets ctx.state.user
 * app.use(tenantMiddleware(tenancy));
 * router.get('/notes', async ctx => { ctx.body = await ctx.state.em.find(Note, {}); });
 */
export function tenantMiddleware<T extends Tenancy>(tenancy: T, options: TenantMiddlewareOptions = {}): Middleware<Partial<TenantState<EntityManagerOf<T>>>> {
  const resolve = options.resolve ?? fromUser();
  const required = options.required ?? true;
  if (typeof resolve !== 'function') {
    throw TenantError.invalidOption('resolve', 'expected a function (ctx) => tenant id');
  }
  return async (ctx, next) => {
    let tenantId: string;
    let switched = false;
    try {
      let raw = await resolve(ctx as unknown as Context);
      if (options.adminSwitch && await options.adminSwitch.isSuperuser(ctx as unknown as Context)) {
        const target = await options.adminSwitch.get(ctx as unknown as Context);
        if (target !== undefined && target !== null) {
          raw = target;
          switched = true;
        }
      }
      if (raw === undefined || raw === null || raw === '') {
        if (required) {
          throw new TenantError('ERR_NO_TENANT_CONTEXT', 'This request names no tenant: log in, or send the tenant as configured.');
        }
        return await next();
      }
      tenantId = canonicalTenantId(raw);
    } catch (error) {
      if (error instanceof TenantError) {
        return respondWithTenantError(ctx as unknown as Context, error);
      }
      throw error;
    }
    let entered = false;
    try {
      await tenancy.run(tenantId, async em => {
        entered = true;
        ctx.state.tenantId = tenantId;
        ctx.state.em = em as EntityManagerOf<T>;
        ctx.state.tenantSwitched = switched;
        await next();
      });
    } catch (error) {
      // Errors of getting the tenant become answers here; errors of the app are the app's.
      if (!entered && error instanceof TenantError) {
        return respondWithTenantError(ctx as unknown as Context, error);
      }
      throw error;
    }
  };
}

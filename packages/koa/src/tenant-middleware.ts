import type { Context, Middleware } from 'koa';
import { TenantError, type EntityManagerOf, type Tenancy, type TenantIdInput } from './core-types.js';
import { respondWithError, respondWithTenantError } from './http-errors.js';
import { fromUser, type TenantResolver } from './resolvers.js';

/** How the tenant middleware reads the admin switch (the `tenantAdmin` options fit). */
export interface TenantSwitchReader {
  /** Whether the request's user may look at other tenants' data. */
  isSuperuser(ctx: Context): boolean | Promise<boolean>;
  /** The tenant id the user switched to, as stored in their session; `undefined` when not switched. */
  get(ctx: Context): unknown | Promise<unknown>;
}

/** Options of {@link tenantMiddleware}. */
export interface TenantMiddlewareOptions {
  /**
   * Finds the tenant of a request: an id, or an entity, which the tenancy reads by its own rule (`tenancy.tenantId()`).
   * @default fromUser() (`ctx.state.user`: the entity itself, else its `id`)
   */
  resolve?: TenantResolver;
  /** Answer 401 `ERR_NO_TENANT_CONTEXT` when no tenant is found; when false, go on without a tenant. @default true */
  required?: boolean;
  /**
   * Honour a superuser's admin switch (pass the object given to `tenantAdmin`). The switch is read for
   * superusers only, and a switched-to tenant is never created: a missing one answers 404.
   * @default undefined (no switch)
   */
  adminSwitch?: TenantSwitchReader;
}

/** What the middleware puts on `ctx.state` for the downstream middleware. */
export interface TenantState<EM = unknown> {
  /** Canonical id of the request's tenant. */
  tenantId: string;
  /** The tenant's EntityManager fork for this request (also what `tenancy.em` resolves to). */
  em: EM;
  /** True when a superuser is looking at another tenant through the admin switch. */
  tenantSwitched: boolean;
}

type ResolvedOptions = Readonly<Required<Omit<TenantMiddlewareOptions, 'adminSwitch'>> & Pick<TenantMiddlewareOptions, 'adminSwitch'>>;

function resolveOptions(options: TenantMiddlewareOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw TenantError.invalidOption('tenantMiddleware(options)', 'expected an object');
  }
  const resolved = { resolve: options.resolve ?? fromUser(), required: options.required ?? true, adminSwitch: options.adminSwitch };
  if (typeof resolved.resolve !== 'function') {
    throw TenantError.invalidOption('resolve', 'expected a function (ctx) => tenant id');
  }
  if (typeof resolved.required !== 'boolean') {
    throw TenantError.invalidOption('required', 'expected true or false');
  }
  const sw = resolved.adminSwitch;
  if (sw !== undefined && (sw === null || typeof sw.isSuperuser !== 'function' || typeof sw.get !== 'function')) {
    throw TenantError.invalidOption('adminSwitch', 'expected { isSuperuser(ctx), get(ctx) }, as given to tenantAdmin()');
  }
  return Object.freeze(resolved);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/**
 * Resolves the tenant of each request and runs everything downstream as that tenant, inside
 * `tenancy.run()`: `tenancy.em`, MikroORM's `RequestContext.getEntityManager()` and the shared ORM's
 * global `orm.em` (so an EntityManager injected from it, and `@CreateRequestContext()`) resolve to a fork
 * of the tenant made for this request, or to its open transaction. The fork is also `ctx.state.em`
 * (with `ctx.state.tenantId` and `ctx.state.tenantSwitched`). A MikroORM `RequestContext` middleware
 * mounted earlier keeps its other EntityManagers; the shared ORM's name names the tenant downstream.
 * The tenant's connection stays leased until the downstream middleware is done. Invalid ids answer
 * 400, unknown tenants (with auto-creation off) 404, no tenant where one is required 401, as
 * `{ error: { code, message } }` (see `TENANT_ERROR_STATUS`).
 *
 * @throws TenantError `ERR_INVALID_OPTION` at once, when an option has a wrong value
 * @example
 * app.use(session).use(auth); // sets ctx.state.user
 * app.use(tenantMiddleware(tenancy)); // or { resolve: fromHeader() }, { required: false }, { adminSwitch }
 * router.get('/notes', async ctx => { ctx.body = await ctx.state.em.find(Note, {}); });
 */
export function tenantMiddleware<T extends Tenancy>(tenancy: T, options: TenantMiddlewareOptions = {}): Middleware<Partial<TenantState<EntityManagerOf<T>>>> {
  const { resolve, required, adminSwitch } = resolveOptions(options);
  return async (koaCtx, next) => {
    const ctx = koaCtx as unknown as Context;
    let tenantId: string;
    let switched = false;
    try {
      let raw = await resolve(ctx);
      if (adminSwitch) {
        const target = await adminSwitch.get(ctx);
        if (!isEmpty(target) && await adminSwitch.isSuperuser(ctx) === true) {
          raw = target;
          switched = true;
        }
      }
      if (isEmpty(raw)) {
        if (required) {
          throw new TenantError('ERR_NO_TENANT_CONTEXT', 'This request names no tenant: log in, or send the tenant as configured.');
        }
        return await next();
      }
      // The tenancy's one rule: its tenant entity names the same tenant here as in run() and on deletion.
      tenantId = tenancy.tenantId(raw as TenantIdInput);
    } catch (error) {
      if (error instanceof TenantError) {
        return respondWithTenantError(ctx, error);
      }
      throw error;
    }
    let entered = false;
    try {
      await tenancy.run(tenantId, async em => {
        entered = true;
        koaCtx.state.tenantId = tenantId;
        koaCtx.state.em = em as EntityManagerOf<T>;
        koaCtx.state.tenantSwitched = switched;
        await next();
      }, switched ? { create: false } : undefined); // a switch outliving its tenant must not bring it back
    } catch (error) {
      // Failing to get the tenant is answered here; errors thrown downstream belong to the app
      // (mount tenantErrorHandler() to answer TenantErrors among them).
      if (!entered && error instanceof TenantError) {
        if (switched && error.code === 'ERR_TENANT_NOT_FOUND') {
          return respondWithError(ctx, 'ERR_TENANT_NOT_FOUND',
            `You are switched to tenant "${tenantId}", which no longer exists. Clear the switch to see your own data.`);
        }
        return respondWithTenantError(ctx, error);
      }
      throw error;
    }
  };
}

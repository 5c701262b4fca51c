import type { Context, Middleware } from 'koa';
import { ADMIN_ASSETS } from './admin-ui-assets.js';
import { confirmDeletePage, listPage, messagePage, type PageFrame } from './admin-ui-pages.js';
import { loadTenantPage } from './admin-ui-tenants.js';
import { TenantError, type Tenancy } from './core-types.js';
import { csrfAllows, csrfToken } from './csrf.js';
import { readForm } from './form-body.js';
import type { TenantAdminOptions } from './tenant-admin.js';

/** Options of {@link tenantAdminUi}: the `tenantAdmin` options (who is a superuser, where the switch lives), and the page's own. */
export interface TenantAdminUiOptions extends Omit<TenantAdminOptions, 'prefix'> {
  /** Path of the page. @default '/admin' */
  prefix?: string;
  /** Link from the page back to the app (where a switched superuser sees the tenant's data). @default '/' */
  appPath?: string;
  /** Tenants per page (1 to 500). @default 20 */
  pageSize?: number;
}

const PATH = /^\/[^?#\s]*[^/?#\s]$/;
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function resolveOptions(options: TenantAdminUiOptions): Required<Omit<TenantAdminUiOptions, keyof TenantAdminOptions>> & { prefix: string } {
  if (options === null || typeof options !== 'object') {
    throw TenantError.invalidOption('tenantAdminUi(options)', 'expected { isSuperuser, get, set }');
  }
  for (const fn of ['isSuperuser', 'get', 'set'] as const) {
    if (typeof options[fn] !== 'function') {
      throw TenantError.invalidOption(fn, 'expected a function: tenantAdminUi needs isSuperuser(ctx), get(ctx) and set(ctx, tenantId)');
    }
  }
  const { prefix = '/admin', appPath = '/', pageSize = 20 } = options;
  if (typeof prefix !== 'string' || !PATH.test(prefix)) {
    throw TenantError.invalidOption('prefix', 'expected a path such as "/admin" (leading slash, no trailing slash)');
  }
  if (typeof appPath !== 'string' || !appPath.startsWith('/') || appPath.startsWith('//')) {
    throw TenantError.invalidOption('appPath', 'expected a path of this site such as "/"');
  }
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 500) {
    throw TenantError.invalidOption('pageSize', 'expected a whole number from 1 to 500');
  }
  return { prefix, appPath, pageSize };
}

function send(ctx: Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

/** After a POST: 303, so the browser GETs the page (a reload never repeats the action). */
function redirect(ctx: Context, location: string): void {
  ctx.redirect(location);
  ctx.status = 303;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * A tenant admin web page for superusers, server-rendered (no front-end build, no framework), for any
 * tenancy (it uses only the strategy-neutral contract):
 * - `GET {prefix}`: the tenants from the registry, a page at a time (`?after=`), searchable by id prefix
 *   (`?q=`): size, created, last modified, schema version, pending migrations;
 * - `POST {prefix}/switch`, `POST {prefix}/switch/clear`: the admin switch (shown on every page);
 * - `GET {prefix}/delete?tenant=`, then `POST {prefix}/delete`: deletes a tenant once its id is typed.
 *
 * Same authorisation as {@link tenantAdmin} (`isSuperuser`; a 403 page otherwise). POSTs need the page's
 * CSRF token (a `SameSite=Strict` double-submit cookie) and a same-origin browser; no GET changes
 * anything. Everything rendered is escaped, and pages carry a strict Content-Security-Policy (no inline
 * script or style: `{prefix}/admin.js` and `admin.css` are served as files). Mount it before
 * `tenantMiddleware`, with the same switch object as `tenantAdmin`.
 *
 * @throws TenantError `ERR_INVALID_OPTION` at once, when an option has a wrong value
 * @example
 * app.use(tenantAdminUi(tenancy, { ...adminSwitch, prefix: '/admin' }));
 * app.use(tenantMiddleware(tenancy, { adminSwitch }));
 */
export function tenantAdminUi(tenancy: Tenancy, options: TenantAdminUiOptions): Middleware {
  const { prefix, appPath, pageSize } = resolveOptions(options);
  const { isSuperuser, get, set } = options;
  const routes = new Set([prefix, `${prefix}/`, `${prefix}/switch`, `${prefix}/switch/clear`, `${prefix}/delete`]);

  const switchedOf = async (ctx: Context): Promise<string | undefined> => {
    const value = await get(ctx);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const frameOf = async (ctx: Context): Promise<PageFrame> => ({ prefix, appPath, switched: await switchedOf(ctx), csrf: csrfToken(ctx, prefix) });
  const fail = async (ctx: Context, status: number, title: string, message: string): Promise<void> =>
    send(ctx, status, messagePage(prefix, await frameOf(ctx), title, message));

  return async (ctx, next) => {
    const asset = ctx.path.startsWith(`${prefix}/`) ? ADMIN_ASSETS[ctx.path.slice(prefix.length + 1)] : undefined;
    if (!asset && !routes.has(ctx.path)) {
      return next();
    }
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    const reading = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (asset) {
      if (!reading) {
        return next();
      }
      ctx.type = asset.type;
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = asset.body;
      return;
    }
    if (await isSuperuser(ctx) !== true) {
      return send(ctx, 403, messagePage(prefix, undefined, 'Forbidden', 'Only superusers may use the tenant admin. Log in as one.'));
    }
    const path = ctx.path === `${prefix}/` ? prefix : ctx.path;
    const allowed = path === prefix ? ['GET', 'HEAD'] : path === `${prefix}/delete` ? ['GET', 'HEAD', 'POST'] : ['POST'];
    if (!allowed.includes(ctx.method)) {
      ctx.set('Allow', allowed.join(', '));
      return fail(ctx, 405, 'Method not allowed', reading ? 'This action is sent by the page\'s buttons, never by a link.' : 'This page is only read.');
    }
    try {
      if (reading) {
        return await (path === prefix ? showList(ctx) : showConfirm(ctx));
      }
      const form = await readForm(ctx);
      if (!form || !csrfAllows(ctx, form.get('csrf'))) {
        return await fail(ctx, 403, 'Forbidden', 'This form is stale or came from another site: reload the tenant admin and try again.');
      }
      const tenantId = path === `${prefix}/switch/clear` ? undefined : tenancy.tenantId(form.get('tenant') ?? '');
      if (path === `${prefix}/switch/clear`) {
        await set(ctx, undefined);
        return redirect(ctx, `${prefix}?notice=back`);
      }
      if (path === `${prefix}/switch`) {
        if (!await tenancy.tenantExists(tenantId!)) {
          throw TenantError.tenantNotFound(tenantId!);
        }
        await set(ctx, tenantId);
        return redirect(ctx, `${prefix}?notice=switched`);
      }
      if (form.get('confirm') !== tenantId) {
        return send(ctx, 400, confirmDeletePage(await frameOf(ctx), tenantId!, 'The id typed does not match: nothing was deleted.'));
      }
      const existed = await tenancy.deleteTenant(tenantId!);
      if (await switchedOf(ctx) === tenantId) {
        await set(ctx, undefined);
      }
      return redirect(ctx, `${prefix}?${new URLSearchParams({ notice: existed ? 'deleted' : 'gone', tenant: tenantId! })}`);
    } catch (error) {
      if (error instanceof TenantError && ['ERR_INVALID_TENANT_ID', 'ERR_TENANT_NOT_FOUND', 'ERR_INVALID_OPTION'].includes(error.code)) {
        const notFound = error.code === 'ERR_TENANT_NOT_FOUND';
        return fail(ctx, notFound ? 404 : 400, notFound ? 'No such tenant' : 'Bad request', notFound ? `Tenant "${error.tenantId}" does not exist.` : error.message);
      }
      throw error;
    }
  };

  async function showList(ctx: Context): Promise<void> {
    const q = (stringOf(ctx.query.q) ?? '').trim();
    const after = stringOf(ctx.query.after);
    const page = await loadTenantPage(tenancy, q, after === '' ? undefined : after, pageSize);
    send(ctx, 200, listPage(await frameOf(ctx), { rows: page.rows, next: page.next, q, after, notice: noticeOf(ctx) }));
  }

  async function showConfirm(ctx: Context): Promise<void> {
    const tenantId = tenancy.tenantId(stringOf(ctx.query.tenant) ?? '');
    if (!await tenancy.tenantExists(tenantId)) {
      throw TenantError.tenantNotFound(tenantId);
    }
    send(ctx, 200, confirmDeletePage(await frameOf(ctx), tenantId));
  }
}

function noticeOf(ctx: Context): string | undefined {
  const tenant = stringOf(ctx.query.tenant) ?? '';
  switch (ctx.query.notice) {
    case 'switched': return 'Switched: the app now shows that tenant\'s data to you. Switch back when done.';
    case 'back': return 'Switched back: the app shows your own data again.';
    case 'deleted': return `Deleted tenant "${tenant}".`;
    case 'gone': return `Tenant "${tenant}" was already gone.`;
    default: return undefined;
  }
}


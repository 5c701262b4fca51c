import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

const COOKIE = 'mikro_tenant_admin_csrf';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The CSRF token of this browser for the admin page (a double-submit cookie, `SameSite=Strict`,
 * `HttpOnly`, scoped to the page's path), set when it has none. Forms send it back in a hidden field.
 */
export function csrfToken(ctx: Context, path: string): string {
  const current = ctx.cookies.get(COOKIE);
  if (current && TOKEN.test(current)) {
    return current;
  }
  const token = randomBytes(32).toString('base64url');
  ctx.cookies.set(COOKIE, token, { path, httpOnly: true, sameSite: 'strict', secure: ctx.secure, overwrite: true });
  return token;
}

/**
 * True when a POST may change something: the form's token equals the cookie's, and the browser did not
 * say it comes from another site (`Origin` of another host, `Sec-Fetch-Site` other than same-origin).
 */
export function csrfAllows(ctx: Context, formToken: string | undefined): boolean {
  if (fromAnotherSite(ctx)) {
    return false;
  }
  const cookie = ctx.cookies.get(COOKIE);
  if (!cookie || !formToken || !TOKEN.test(cookie)) {
    return false;
  }
  const a = Buffer.from(cookie);
  const b = Buffer.from(formToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * True when the browser says the request comes from another site: `Sec-Fetch-Site` other than
 * same-origin (or none: typed or bookmarked), or an `Origin` whose host is not this one. Browsers send
 * `Origin` with every cross-site POST; clients that are not browsers (curl, tests) send neither.
 */
export function fromAnotherSite(ctx: Context): boolean {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') {
    return true;
  }
  const origin = ctx.get('origin');
  if (!origin) {
    return false;
  }
  try {
    return new URL(origin).host !== ctx.host;
  } catch {
    return true;
  }
}

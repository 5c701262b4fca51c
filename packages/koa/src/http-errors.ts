import type { Context, Middleware } from 'koa';
import { TenantError, type TenantErrorCode } from '@mikro-tenant/core';

/** HTTP status of every tenant error code: the one table the adapter answers from. */
export const TENANT_ERROR_STATUS: Readonly<Record<TenantErrorCode, number>> = Object.freeze({
  ERR_INVALID_TENANT_ID: 400,
  ERR_NO_TENANT_CONTEXT: 401,
  ERR_TENANT_NOT_FOUND: 404,
  ERR_TENANT_EXISTS: 409,
  ERR_TENANT_ENTITY_ON_SHARED_EM: 500,
  ERR_TENANT_PROVISIONING_FAILED: 503,
  ERR_TENANT_OPEN_FAILED: 503,
  ERR_TENANT_MIGRATION_FAILED: 503,
  ERR_TENANT_CLOSED: 503,
  ERR_TENANT_DELETED: 410,
  ERR_TENANCY_CLOSED: 503,
  ERR_INVALID_OPTION: 500,
});

/** The JSON body of an error answer: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Answers `ctx` with the status and JSON body of a tenant error. Server-side errors get a generic message. */
export function respondWithTenantError(ctx: Context, error: TenantError): void {
  const status = TENANT_ERROR_STATUS[error.code] ?? 500;
  ctx.status = status;
  const message = status >= 500 ? 'The tenant\'s data is unavailable right now.' : error.message;
  ctx.body = { error: { code: error.code, message } } satisfies ErrorBody;
}

/** Answers with a plain coded error (for the adapter's own refusals such as `ERR_FORBIDDEN`). */
export function respondWithError(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: { code, message } } satisfies ErrorBody;
}

/**
 * Middleware mapping `TenantError`s thrown downstream to JSON answers (status from
 * {@link TENANT_ERROR_STATUS}). Mount it before the routes; other errors pass through.
 *
 * @example
 * app.use(tenantErrorHandler());
 */
export function tenantErrorHandler(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof TenantError)) {
        throw error;
      }
      respondWithTenantError(ctx, error);
      if (ctx.status >= 500) {
        ctx.app.emit('error', error, ctx);
      }
    }
  };
}

import type { Context, Middleware } from 'koa';
import { TenantError, type TenantErrorCode } from '@mikro-tenant/core';

/** Every code the adapter answers with: the library's {@link TenantErrorCode}s plus its own `ERR_FORBIDDEN`. */
export type HttpErrorCode = TenantErrorCode | 'ERR_FORBIDDEN';

/**
 * HTTP status of every error code: the one table the adapter answers from. Statuses of 500 and
 * above answer with a generic message and emit the error on the Koa app (`app.on('error')`).
 */
export const TENANT_ERROR_STATUS: Readonly<Record<HttpErrorCode, number>> = Object.freeze({
  ERR_INVALID_TENANT_ID: 400,
  ERR_NO_TENANT_CONTEXT: 401,
  ERR_FORBIDDEN: 403,
  ERR_TENANT_NOT_FOUND: 404,
  ERR_FOREIGN_TENANT_ROW: 404,
  ERR_TENANT_EXISTS: 409,
  ERR_TENANT_DELETED: 410,
  ERR_TENANT_QUOTA_EXCEEDED: 413,
  ERR_TENANT_ENTITY_ON_SHARED_EM: 500,
  ERR_SHARED_WRITE_ON_TENANT_EM: 500,
  ERR_INVALID_OPTION: 500,
  ERR_UNSCOPED_QUERY: 500,
  ERR_TENANT_PROVISIONING_FAILED: 503,
  ERR_TENANT_OPEN_FAILED: 503,
  ERR_TENANT_MIGRATION_FAILED: 503,
  ERR_TENANT_EVICTED: 503,
  ERR_TENANCY_CLOSED: 503,
  // Admin errors (the CLI's): a request never causes them, so they are server errors if one does.
  ERR_TENANT_FILE_MISSING: 500,
  ERR_TENANT_SCHEMA_MISSING: 500,
  ERR_TENANT_FOLDER_UNUSABLE: 500,
  ERR_BACKUP_EXISTS: 500,
  ERR_INVALID_BACKUP: 500,
  ERR_BACKUP_TOOL_MISSING: 500,
  ERR_BACKUP_FAILED: 500,
  ERR_RESTORE_FAILED: 500,
  ERR_NOT_SUPPORTED: 500,
});

/** The JSON body of an error answer: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

const GENERIC_MESSAGE = 'The tenant\'s data is unavailable right now.';

/**
 * Answers `ctx` with a coded error: status from {@link TENANT_ERROR_STATUS} (500 for a code it does
 * not know), body `{ error: { code, message } }`.
 */
export function respondWithError(ctx: Context, code: HttpErrorCode, message: string): void {
  const status = TENANT_ERROR_STATUS[code] ?? 500;
  ctx.status = status;
  ctx.body = { error: { code, message: status >= 500 ? GENERIC_MESSAGE : message } } satisfies ErrorBody;
}

/**
 * What HTTP clients are told for codes whose library message is advice to the developer (which API to
 * call, which option to set): the client gets the fact, the developer's message stays on the error.
 */
const CLIENT_MESSAGES: Partial<Record<HttpErrorCode, (error: TenantError) => string>> = {
  ERR_TENANT_NOT_FOUND: error => (error.tenantId ? `Tenant "${error.tenantId}" does not exist.` : 'This tenant does not exist.'),
  ERR_TENANT_QUOTA_EXCEEDED: () => 'This tenant has reached its storage quota: delete data or ask for more room.',
  ERR_NO_TENANT_CONTEXT: () => 'This request names no tenant: log in, or send the tenant as configured.',
};

/**
 * Answers `ctx` with the status and JSON body of a tenant error. Server-side errors (5xx) get a
 * generic message and are emitted on the app, so they are logged like any other error; codes whose
 * library message addresses the developer get a message for the client (e.g. 404: `Tenant "x" does not exist.`).
 */
export function respondWithTenantError(ctx: Context, error: TenantError): void {
  respondWithError(ctx, error.code, CLIENT_MESSAGES[error.code]?.(error) ?? error.message);
  if (ctx.status >= 500) {
    ctx.app.emit('error', error, ctx);
  }
}

/**
 * Middleware mapping `TenantError`s thrown downstream (say, `tenancy.em` used on a route without a
 * tenant: `ERR_NO_TENANT_CONTEXT`, 401) to JSON answers, status from {@link TENANT_ERROR_STATUS}.
 * Mount it before the routes; other errors pass through untouched.
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
    }
  };
}

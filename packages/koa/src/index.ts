export { tenantMiddleware } from './tenant-middleware.js';
export type { TenantMiddlewareOptions, TenantState, TenantSwitchReader } from './tenant-middleware.js';
export { fromUser, fromHeader, fromSubdomain } from './resolvers.js';
export type { TenantResolver } from './resolvers.js';
export { tenantAdmin } from './tenant-admin.js';
export type { TenantAdminOptions } from './tenant-admin.js';
export { TENANT_ERROR_STATUS, tenantErrorHandler, respondWithTenantError, respondWithError } from './http-errors.js';
export type { ErrorBody, HttpErrorCode } from './http-errors.js';
export type { EntityManagerOf } from './core-types.js';

export { TenantError, isTenantError } from './errors.js';
export type { TenantErrorCode } from './errors.js';
export { canonicalTenantId, isValidTenantId, isEntityObject, primaryKeyTenantId, MAX_TENANT_ID_LENGTH } from './tenant-id.js';
export type { TenantIdInput, EntityTenantId } from './tenant-id.js';
export { runInTenantScope, currentTenantScope, currentTenantId, requireTenantScope } from './tenant-context.js';
export type { TenantScope } from './tenant-context.js';
export { TenantPool } from './tenant-pool.js';
export type { TenantPoolHooks, TenantLease, TenantOpenOptions } from './tenant-pool.js';
export { SqlTenantRegistry } from './tenant-registry.js';
export { DeferredTenantRegistry } from './deferred-registry.js';
export { TenancyRegistry } from './tenancy-registry.js';
export type { TenantRegistration } from './deferred-registry.js';
export type { TenantRecord, TenantRegistry } from './tenant-registry.js';
export type { TenantPage } from './tenant-page.js';
export { TenantDeletionSubscriber } from './tenant-deletion-subscriber.js';
export type { TenantDeletionSubscriberOptions } from './tenant-deletion-subscriber.js';
export type { TransactionInspector } from './transaction-inspector.js';
export type { Tenancy, TenantRunOptions, TenantInfo, TenantUsageSummary } from './tenancy.js';
export { AbstractTenancy } from './abstract-tenancy.js';
export type { AbstractTenancyInit } from './abstract-tenancy.js';
export { OncePerTenantProvisioning, type ProvisionOutcome } from './once-per-tenant-provisioning.js';
export type { ProvisionResult, SchemaApplyResult, TenancyStats, TenancyStrategy, TenantProvisioning, TenantSchemaUpdates } from './tenancy-strategy.js';
export { TenancyLifecycle, DeferredDeletions } from './tenancy-lifecycle.js';
export { TenantResultCaches } from './tenant-result-cache.js';
export {
  runInTenantContexts, outerSharedTransaction, resolveTenantTransactionsInContext, tenantContextEntityManager, currentContextTenantScope,
} from './tenant-request-context.js';
export type { ContextTenantScope } from './tenant-request-context.js';
export { closestName } from './closest-name.js';
export { runAsCliTenant } from './cli-tenant.js';
export type { AdminTenancy, AdminReconcileReport, TenancyAdmin, TenancyCliEntry, TenantBackup } from './tenancy-admin.js';
export { TenancyEvents, TENANCY_EVENT_TYPES, eventError } from './tenancy-events.js';
export type {
  TenancyEvent, TenancyEventMap, TenancyEventListener, TenancySubscriber, TenantCreationMethod, TenantEventError,
  TenantCreatedEvent, TenantOpenedEvent, TenantEvictedEvent, TenantMigratedEvent, TenantMigrationFailedEvent, TenantDeletedEvent,
  TenantProvisioningFailedEvent, TenantQuotaExceededEvent,
} from './tenancy-events.js';
export type { TenantObserver } from './tenancy-monitor.js';
export { OPERATING_OPTION_CHECKS, OPERATING_OPTION_DEFAULTS } from './tenancy-operating-options.js';
export type { TenancyOperatingOptions } from './tenancy-operating-options.js';
export { TENANCY_METRICS, TENANCY_SPANS, TENANT_ID_ATTRIBUTE } from './tenancy-telemetry.js';
export type { TenancyTelemetryOptions } from './tenancy-telemetry.js';
export type { TenantQuotaOptions, TenantQuotaLimit } from './tenant-quota.js';
export type { TenantUsageStats, TenantUsageRow, TenantSizeRow, TenantStatsOptions } from './tenant-usage.js';

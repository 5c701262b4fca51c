import type { EntityManager } from '@mikro-orm/core';
import type { TenantCreationMethod } from './tenancy-events.js';
import type { TenantRecord } from './tenant-registry.js';
import type { TenantUsageStats } from './tenant-usage.js';

/** Outcome of provisioning one tenant. */
export interface ProvisionResult {
  /** This call created the tenant's storage. */
  created: boolean;
  /** The tenant's registry row. */
  record: TenantRecord;
  /** How the storage was made (for the `tenantCreated` event). @default 'migrations' */
  how?: TenantCreationMethod;
}

/**
 * Creates tenants' storage (a file, a schema...), each at most once at a time per process, and never
 * overwriting one that exists (another process may have created it first).
 */
export interface TenantProvisioning {
  /** Tenants this process created. */
  readonly provisioned: number;
  /** Provisionings this process lost to another process that created the tenant first. */
  readonly races: number;
  /**
   * Creates the tenant's storage unless it exists. `AbstractTenancy` observes this method (events, spans,
   * metrics), also when the strategy calls it itself: call it through the `provisioning` object. `created` is true if this call created it (for
   * `explicit` callers, a concurrent call's creation counts as "it existed").
   * @throws TenantError `ERR_TENANT_PROVISIONING_FAILED` (nothing is left behind)
   */
  provision(tenantId: string, explicit: boolean): Promise<ProvisionResult>;
  /** The provisioning of `tenantId` under way in this process, if any. */
  pending(tenantId: string): Promise<ProvisionResult> | undefined;
  /** Resolves when every provisioning under way has settled. */
  settle(): Promise<void>;
}

/** What bringing one tenant up to date did. */
export interface SchemaApplyResult {
  /** Names of the migrations applied now (for a schema from the entities: `['schema']` when tables were changed). */
  executed: string[];
  /** The schema version reached. */
  version: string | null;
}

/** How a strategy brings an existing tenant's tables up to date (migrations, or the entities). */
export interface TenantSchemaUpdates<EM extends EntityManager = EntityManager> {
  /** Brings the tenant of `em` up to date, in one transaction. */
  apply(em: EM): Promise<SchemaApplyResult>;
  /** What {@link apply} would still do, writing nothing. */
  pending(em: EM): Promise<string[]>;
}

/** Counters of a tenancy, for monitoring and tests. */
export interface TenancyStats {
  /** Tenant EntityManagers open (kept ready) now. */
  open: number;
  /** Tenants opened since start (cold opens). */
  opened: number;
  /** Tenants this process created. */
  provisioned: number;
  /** Provisionings another process won. */
  provisionRaces: number;
  /** The per-tenant view: the top tenants by query time over the stats window and by size. */
  tenants: TenantUsageStats;
}

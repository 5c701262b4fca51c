import type { EntityManager } from '@mikro-orm/core';
import type { TenantInfo } from './tenancy.js';
import type { TenantCreationMethod } from './tenancy-events.js';
import type { TenantObserver } from './tenancy-monitor.js';
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

/**
 * What a storage strategy (a file per tenant, a schema per tenant...) implements; {@link AbstractTenancy}
 * does the rest (ids, the pool, leases, scopes and MikroORM's contexts, the lifecycle, deferred deletions,
 * the registry's gate).
 */
export interface TenancyStrategy<EM extends EntityManager, R = unknown> {
  /** Creates tenants' storage. */
  readonly provisioning: TenantProvisioning;
  /** Brings existing tenants up to date. */
  readonly schemaUpdates: TenantSchemaUpdates<EM>;
  /**
   * Opens a tenant's root EntityManager, creating the tenant first when `mayCreate` (and it is missing).
   * (Leases mark a tenant used, for the pool's least-recently-used order: statements need not.)
   * @throws TenantError `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANT_OPEN_FAILED`
   */
  open(tenantId: string, mayCreate: boolean): Promise<EM>;
  /** Closes a tenant's EntityManager the pool let go: evicted, or (`closing`) the tenancy is closing. */
  close(em: EM, tenantId: string, closing: boolean): Promise<void>;
  /** A tenant is about to be deleted: `em` is its open EntityManager, if any (work on it after the grace period gets `ERR_TENANT_DELETED`). */
  markDeleted?(em: EM | undefined, tenantId: string): void;
  /** True when the tenant's storage exists. */
  exists(tenantId: string): Promise<boolean>;
  /** Removes the tenant's storage and registry row, once no work holds it; true when there was anything. */
  remove(tenantId: string): Promise<boolean>;
  /** Registry rows with what the storage can tell (size, modification time). */
  describe(records: TenantRecord[]): Promise<TenantInfo[]>;
  /** Compares the registry with the storage; with `fix`, repairs the registry. */
  reconcile(fix: boolean): Promise<R>;
  /** Refuses ids this storage cannot hold, beyond the canonical rule (e.g. too long for a name). @throws TenantError `ERR_INVALID_TENANT_ID` */
  checkId?(tenantId: string): void;
  /**
   * Receives, before the first tenant opens, what the strategy reports to: each statement of a tenant (for
   * statistics, metrics and traces), quotas and sizes.
   */
  observe?(observer: TenantObserver): void;
  /** Runs after `createTenant()` created a tenant (e.g. writes its queued registry row). */
  afterCreate?(): Promise<void>;
  /** Closes what the strategy holds (the shared ORM, queued registry rows), after every tenant is closed. */
  shutDown(): Promise<void>;
}

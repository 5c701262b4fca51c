import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { TenantIdInput } from './tenant-id.js';
import type { TenantPage } from './tenant-page.js';
import type { TenancyEvents } from './tenancy-events.js';
import type { TenantRecord } from './tenant-registry.js';

/** Options of {@link Tenancy.run}. */
export interface TenantRunOptions {
  /**
   * Make MikroORM's own request context name the tenant inside `fn`: `RequestContext.getEntityManager()`
   * and the shared ORM's global `orm.em` (and so an EntityManager injected from it, repositories,
   * `@CreateRequestContext`/`@EnsureRequestContext`) resolve to the tenant's EntityManager, or to its open
   * transaction. `false` leaves MikroORM's contexts as they are outside `fn` (`orm.em` stays the shared
   * database's and refuses per-tenant entities); `tenancy.em` resolves to the tenant either way. @default true
   */
  sharedContext?: boolean;
  /**
   * `false`: never create the tenant here, even with auto-creation on; an unknown tenant throws
   * `ERR_TENANT_NOT_FOUND` (e.g. for an admin switch that must not bring a deleted tenant back).
   * @default the tenancy's `autoCreate`
   */
  create?: boolean;
}

/** One tenant's quota and cost, as admin tools show them ({@link Tenancy.tenantUsage}). */
export interface TenantUsageSummary {
  /** Statements this process ran for the tenant over the statistics window (0 with `stats: false`). */
  queries: number;
  /** Their time in milliseconds. */
  queryTimeMs: number;
  /** The tenant's size limit in bytes; absent when it has none. */
  quotaBytes?: number;
}

/** What a tenant looks like to admin tools: its registry row plus what the strategy can tell about its storage. */
export interface TenantInfo extends TenantRecord {
  /** Size of the tenant's storage in bytes, when the strategy knows it. */
  sizeBytes?: number;
  /** Last modification of the tenant's storage, when the strategy knows it. */
  modifiedAt?: Date;
}

/**
 * The strategy-neutral face of a tenancy: what adapters (Koa, CLI) rely on. `AbstractTenancy` implements
 * it over a storage strategy: one SQLite file per tenant (`@mikro-tenant/sqlite`), one PostgreSQL schema
 * per tenant (`@mikro-tenant/postgresql`).
 */
export interface Tenancy<EM extends EntityManager = EntityManager> {
  /** The MikroORM instance of the shared database. */
  readonly orm: MikroORM;
  /**
   * An EntityManager that resolves to the active tenant's fork on every call.
   * @throws TenantError `ERR_NO_TENANT_CONTEXT` when used with no tenant active
   */
  readonly em: EM;
  /** Lifecycle events of this tenancy's tenants (created, opened, evicted, migrated, deleted, ...). */
  readonly events: TenancyEvents;
  /**
   * The canonical id of a tenant input under this tenancy's one rule: a string or number as it is, its
   * tenant entity through the tenancy's own reading of it (e.g. a `tenantIdOf` option). Adapters resolve
   * every input through this, so an entity names the same tenant everywhere.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  tenantId(input: TenantIdInput): string;
  /** A new EntityManager fork bound to one tenant (creating the tenant if allowed). */
  fork(tenantId: TenantIdInput): Promise<EM>;
  /** Runs `fn` with the tenant active; its connection stays open until `fn` settles. */
  run<T>(tenantId: TenantIdInput, fn: (em: EM) => T | Promise<T>, options?: TenantRunOptions): Promise<T>;
  /** Creates a tenant. @throws TenantError `ERR_TENANT_EXISTS` when it exists */
  createTenant(tenantId: TenantIdInput): Promise<TenantRecord>;
  /** Deletes a tenant and all its data. Resolves false when there was nothing to delete. */
  deleteTenant(tenantId: TenantIdInput): Promise<boolean>;
  /** True when the tenant exists. */
  tenantExists(tenantId: TenantIdInput): Promise<boolean>;
  /** Tenants from the registry (no scan of the storage), in id order: all of them, or one page. */
  listTenants(page?: TenantPage): Promise<TenantInfo[]>;
  /**
   * Names of the migrations not yet applied to a tenant, writing nothing (a missing tenant is not created).
   * Optional: admin tools show them when the tenancy can tell.
   * @throws TenantError `ERR_TENANT_NOT_FOUND` for a missing tenant
   */
  pendingMigrations?(tenantId: TenantIdInput): Promise<string[]>;
  /** One tenant's quota and its statements over the statistics window; optional: admin tools show it when the tenancy can tell. */
  tenantUsage?(tenantId: TenantIdInput): Promise<TenantUsageSummary>;
  /** Closes every tenant connection and the shared ORM; afterwards every method rejects with `ERR_TENANCY_CLOSED`. Idempotent. */
  close(): Promise<void>;
}

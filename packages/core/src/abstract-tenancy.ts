import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { DeferredTenantRegistry } from './deferred-registry.js';
import { TenantError } from './errors.js';
import type { Tenancy, TenantInfo, TenantRunOptions, TenantUsageSummary } from './tenancy.js';
import { DeferredDeletions, TenancyLifecycle } from './tenancy-lifecycle.js';
import type { TenancyEvents } from './tenancy-events.js';
import { TenancyMonitor } from './tenancy-monitor.js';
import type { TenancyOperatingOptions } from './tenancy-operating-options.js';
import { TenancyRegistry } from './tenancy-registry.js';
import type { SchemaApplyResult, TenancyStats, TenancyStrategy, TenantProvisioning, TenantSchemaUpdates } from './tenancy-strategy.js';
import { currentTenantScope, runInTenantScope } from './tenant-context.js';
import { canonicalTenantId, type EntityTenantId, type TenantIdInput } from './tenant-id.js';
import type { TenantPage } from './tenant-page.js';
import { TenantPool } from './tenant-pool.js';
import type { TenantRecord } from './tenant-registry.js';
import { outerSharedTransaction, runInTenantContexts, type ContextTenantScope } from './tenant-request-context.js';

/** What {@link AbstractTenancy} is built from. */
export interface AbstractTenancyInit<EM extends EntityManager, R> {
  /** The shared ORM. */
  orm: MikroORM;
  /** The strategy. */
  strategy: TenancyStrategy<EM, R>;
  /** The registry the tenancy writes to (users get it behind a gate that refuses it once closing). */
  registry: DeferredTenantRegistry;
  /** Makes `tenancy.em`, given a check that throws `ERR_TENANCY_CLOSED` once the tenancy is closing. */
  contextEntityManager(assertUsable: () => void): EM;
  /** Which tenant an entity stands for (the tenancy's `tenantEntity` and `tenantIdOf`). */
  entityTenantId: EntityTenantId;
  maxOpen: number;
  autoCreate: boolean;
  deleteGraceMs: number;
  warn(message: string, code: string): void;
  /** Events, quotas, statistics and telemetry (validated by the strategy's options). */
  operating?: TenancyOperatingOptions;
}

/**
 * The strategy-neutral part of a tenancy: everything but where a tenant's data lives. A strategy package
 * extends it with its `init()` and whatever is its own (SQLite's templates, PostgreSQL's schema names).
 */
export abstract class AbstractTenancy<EM extends EntityManager, R = unknown> implements Tenancy<EM> {
  /** The shared MikroORM instance. Outside a tenant scope its EntityManager refuses per-tenant entities; inside one it is the tenant's. */
  readonly orm: MikroORM;
  /** Resolves to the active tenant's EntityManager; throws `ERR_NO_TENANT_CONTEXT` with no tenant active. */
  readonly em: EM;
  /** Which tenants exist. Refuses every call once `close()` began. */
  readonly registry: TenancyRegistry;
  /** Open, closing, closed: strategy members (say, template tools) track their work with it. */
  protected readonly lifecycle = new TenancyLifecycle();
  /**
   * The tenancy's lifecycle events (created, opened, evicted, migrated, deleted, quota exceeded...):
   * `tenancy.events.subscribe({ tenantCreated: e => ... })` or `tenancy.events.on('tenantDeleted', e => ...)`.
   * Listeners run synchronously and cannot break the operation: what they throw goes to `warn`.
   */
  readonly events: TenancyEvents;
  /** The tenant EntityManagers kept open, leased by `run()`. */
  protected readonly pool: TenantPool<EM>;
  readonly #strategy: TenancyStrategy<EM, R>;
  /** The registry itself: the tenancy's own work (also while closing) bypasses the gate of {@link registry}. */
  readonly #registry: DeferredTenantRegistry;
  readonly #deferredDeletions = new DeferredDeletions();
  readonly #entityTenantId: EntityTenantId;
  readonly #autoCreate: boolean;
  readonly #deleteGraceMs: number;
  readonly #warn: (message: string, code: string) => void;
  readonly #monitor: TenancyMonitor;
  /** Tenants being deleted: their pool entry's close is not an eviction. */
  readonly #deleting = new Set<string>();
  #opened = 0;

  protected constructor(init: AbstractTenancyInit<EM, R>) {
    this.orm = init.orm;
    this.#strategy = init.strategy;
    this.#entityTenantId = init.entityTenantId;
    this.#autoCreate = init.autoCreate;
    this.#deleteGraceMs = init.deleteGraceMs;
    this.#warn = init.warn;
    this.#registry = init.registry;
    this.registry = new TenancyRegistry(init.registry, () => this.lifecycle.assertOpen());
    this.em = init.contextEntityManager(() => this.lifecycle.assertOpen());
    const monitor = new TenancyMonitor(init.operating ?? {}, init.warn, () => this.pool.size);
    this.#monitor = monitor;
    this.events = monitor.events;
    observeProvisioning(init.strategy.provisioning, monitor);
    init.strategy.observe?.(monitor);
    this.pool = new TenantPool<EM>(init.maxOpen, {
      open: async (tenantId, { create }) => {
        const em = await monitor.opening(tenantId, () => this.#strategy.open(tenantId, create ?? this.#autoCreate));
        this.#opened++;
        return em;
      },
      close: (em, tenantId) => {
        if (!this.#deleting.has(tenantId)) {
          monitor.evicted(tenantId, this.lifecycle.closing ? 'closing' : 'idle');
        }
        return this.#strategy.close(em, tenantId, this.lifecycle.closing);
      },
      onError: (error, tenantId) => this.#warn(`mikro-tenant: closing tenant "${tenantId}" failed: ${(error as Error).message}`, 'MIKRO_TENANT_CLOSE_FAILED'),
    });
  }

  /** Number of tenant EntityManagers open in this process. */
  get openTenants(): number {
    return this.pool.size;
  }

  /** Counters of this process, for monitoring and tests. */
  stats(): TenancyStats {
    const { provisioned, races } = this.#strategy.provisioning;
    return { open: this.pool.size, opened: this.#opened, provisioned, provisionRaces: races, tenants: this.#monitor.usage.stats() };
  }

  /**
   * The canonical id of a tenant input, by the one rule every method here, the Koa middleware and the
   * deletion subscriber use: strings and numbers as they are; a `tenantEntity` row through `tenantIdOf`
   * (default: its primary key); and only ids the strategy can hold. Pure: it touches nothing, also after `close()`.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  tenantId(input: TenantIdInput): string {
    const id = canonicalTenantId(input, this.#entityTenantId);
    this.#strategy.checkId?.(id);
    return id;
  }

  /**
   * A new EntityManager fork bound to one tenant, creating the tenant first when `autoCreate` is on.
   * Not leased, and its queries do not count as use of the tenant (only leases do, for the pool's
   * least-recently-used order): for work that must not race eviction, prefer {@link run}.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   */
  async fork(tenantId: TenantIdInput): Promise<EM> {
    this.lifecycle.assertOpen();
    const lease = await this.pool.acquire(this.tenantId(tenantId));
    try {
      return lease.handle.fork() as EM;
    } finally {
      lease.release();
    }
  }

  /**
   * Runs `fn` as the tenant: `tenancy.em` resolves to a fresh fork of the tenant (also passed to `fn`), and
   * so do MikroORM's own idioms (`RequestContext.getEntityManager()`, the global `orm.em`, an EntityManager
   * injected from it, `@CreateRequestContext()`), or to its open transaction; `{ sharedContext: false }`
   * leaves MikroORM's contexts alone. The tenant stays leased until `fn` settles. If `fn` deletes this very
   * tenant, the deletion happens once `fn` has settled, and `run()` resolves after it.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   * @example
   * await tenancy.run(user.id, async em => { em.create(Note, { text: 'hi', author: user.id }); await em.flush(); });
   */
  async run<T>(tenantId: TenantIdInput, fn: (em: EM) => T | Promise<T>, options: TenantRunOptions = {}): Promise<T> {
    this.lifecycle.assertOpen();
    const id = this.tenantId(tenantId);
    // An open tenant is leased without a promise round; the lease is what marks it used (not each statement).
    const lease = this.pool.tryAcquire(id) ?? await this.pool.acquire(id, { create: options.create });
    this.#monitor.telemetry.tagActiveSpan(id);
    let scope: ContextTenantScope<EM> | undefined;
    try {
      const em = lease.handle.fork() as EM;
      const contexts = options.sharedContext !== false;
      const sharedName = contexts ? this.orm.em.name : undefined;
      const entered: ContextTenantScope<EM> = {
        tenantId: id, em, outer: currentTenantScope(), sharedName, outerShared: sharedName ? outerSharedTransaction(sharedName) : undefined,
      };
      scope = entered;
      this.#deferredDeletions.own(entered);
      if (sharedName) {
        return await runInTenantContexts(sharedName, entered, () => fn(em));
      }
      return await runInTenantScope(entered, () => fn(em));
    } finally {
      lease.release();
      if (scope && this.#deferredDeletions.take(id, scope)) {
        await this.lifecycle.trackInternal(this.#deleteReporting(id));
      }
    }
  }

  /**
   * Creates a tenant's storage and registers it.
   * @throws TenantError `ERR_TENANT_EXISTS` when it exists (it is never overwritten), `ERR_TENANT_PROVISIONING_FAILED`, `ERR_TENANCY_CLOSED`
   */
  async createTenant(tenantId: TenantIdInput): Promise<TenantRecord> {
    return this.lifecycle.track(async () => {
      const id = this.tenantId(tenantId);
      const { created, record } = await this.#strategy.provisioning.provision(id, true);
      if (!created) {
        throw TenantError.tenantExists(id);
      }
      await this.#strategy.afterCreate?.();
      return record;
    });
  }

  /**
   * Deletes a tenant: waits up to `deleteGraceMs` for work holding it, closes it, removes its storage and
   * its registry row. Resolves false when there was nothing to delete. Called inside the tenant's own
   * `run()` (or the request serving it), it resolves at once (true when the tenant exists) and the
   * deletion happens when that `run()` settles.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANCY_CLOSED`
   */
  deleteTenant(tenantId: TenantIdInput): Promise<boolean> {
    let id: string;
    try {
      this.lifecycle.assertOpen();
      id = this.tenantId(tenantId);
      const holder = this.#deferredDeletions.holder(id);
      if (holder) {
        this.#deferredDeletions.defer(id, holder);
        return this.#strategy.exists(id);
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // Not async: the caller resumes as soon as the storage is gone, before work queued behind the deletion
    // (which may provision the tenant afresh) gets its turn.
    return this.lifecycle.trackInternal(this.#deleteNow(id));
  }

  /** True when the tenant's storage exists. @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANCY_CLOSED` */
  async tenantExists(tenantId: TenantIdInput): Promise<boolean> {
    this.lifecycle.assertOpen();
    return this.#strategy.exists(this.tenantId(tenantId));
  }

  /**
   * Registered tenants in id order, with what the storage tells of each (size, modification time): all of
   * them, or one page (`{ after: lastIdOfThePreviousPage, limit }`), which costs the same whatever the number of tenants.
   * @throws TenantError `ERR_INVALID_OPTION` for a bad page, `ERR_TENANCY_CLOSED`
   */
  async listTenants(page?: TenantPage): Promise<TenantInfo[]> {
    return this.lifecycle.track(async () => {
      const tenants = await this.#strategy.describe(await this.#registry.list(page));
      for (const tenant of tenants) {
        if (tenant.sizeBytes !== undefined) {
          this.#monitor.sized(tenant.tenantId, tenant.sizeBytes);
        }
      }
      return tenants;
    });
  }

  /** Compares the registry with the storage; with `fix`, repairs the registry. @throws TenantError `ERR_TENANCY_CLOSED` */
  async reconcile(options: { fix?: boolean } = {}): Promise<R> {
    return this.lifecycle.track(() => this.#strategy.reconcile(options.fix ?? false));
  }

  /**
   * Names of the migrations not yet applied to a tenant (with tables from the entities: `['schema']` when they
   * lag behind). Writes nothing: a missing tenant is not created.
   * @throws TenantError `ERR_TENANT_NOT_FOUND` for a missing tenant, `ERR_TENANCY_CLOSED`
   */
  async pendingMigrations(tenantId: TenantIdInput): Promise<string[]> {
    // Admin tools ask this of tenants they list: asking must never bring a deleted tenant back.
    return this.lifecycle.track(() => this.run(tenantId, em => this.#strategy.schemaUpdates.pending(em), { sharedContext: false, create: false }));
  }

  /**
   * What one tenant costs and may use, for admin tools: its quota (the `quota` option, per-tenant answer
   * included) and its statements and their time over the statistics window of this process. Reads no storage.
   * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_INVALID_OPTION` for a bad per-tenant quota answer, `ERR_TENANCY_CLOSED`
   */
  async tenantUsage(tenantId: TenantIdInput): Promise<TenantUsageSummary> {
    this.lifecycle.assertOpen();
    const id = this.tenantId(tenantId);
    const quotaBytes = await this.#monitor.quotaOf(id);
    return { ...this.#monitor.usage.of(id), ...(quotaBytes === undefined ? {} : { quotaBytes }) };
  }

  /**
   * Applies pending migrations to one tenant (in one transaction) and records its schema version.
   * @throws TenantError `ERR_TENANT_MIGRATION_FAILED` (the tenant is rolled back), `ERR_TENANCY_CLOSED`
   */
  async migrateTenant(tenantId: TenantIdInput): Promise<SchemaApplyResult> {
    return this.lifecycle.track(async () => {
      const id = this.tenantId(tenantId);
      const from = (await this.#registry.get(id))?.schemaVersion ?? null;
      return this.#monitor.migrating(id, from, async () => {
        const result = await this.run(id, em => this.#strategy.schemaUpdates.apply(em), { sharedContext: false });
        await this.#registry.setSchemaVersion(id, result.version);
        return result;
      });
    });
  }

  /**
   * Closes the tenancy: from the moment it is called every method (and `tenancy.em`, `tenancy.registry`)
   * rejects with `ERR_TENANCY_CLOSED`; operations under way finish first (a deletion within its grace
   * period), then every tenant is closed (work still holding one gets `ERR_TENANCY_CLOSED`), deletions
   * asked for inside a `run()` still going are done, and the strategy shuts down (queued registry rows
   * written, the shared ORM closed). Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      await this.pool.close();
      for (const id of this.#deferredDeletions.takeAll()) {
        await this.#deleteReporting(id);
      }
      await this.lifecycle.settle();
      await this.#strategy.provisioning.settle();
      await this.#strategy.shutDown();
      this.#monitor.telemetry.close();
    });
  }

  async #deleteNow(id: string): Promise<boolean> {
    await this.#strategy.provisioning.pending(id)?.catch(() => undefined);
    return this.#monitor.deleting(id, async () => {
      this.#strategy.markDeleted?.(this.pool.peek(id), id);
      let existed = false;
      this.#deleting.add(id);
      try {
        await this.pool.retire(id, this.#deleteGraceMs, async () => {
          existed = await this.#strategy.remove(id);
        });
      } finally {
        this.#deleting.delete(id);
      }
      return existed;
    });
  }

  /** Deletes without rejecting: whoever asked has had their answer already, so a failure is a warning. */
  async #deleteReporting(id: string): Promise<void> {
    try {
      await this.#deleteNow(id);
    } catch (error) {
      this.#warn(`mikro-tenant: deleting tenant "${id}" failed: ${(error as Error).message}`, 'MIKRO_TENANT_DELETION');
    }
  }
}

/**
 * Routes every provisioning of the strategy through the monitor (span, latency, `tenantCreated`,
 * `tenantProvisioningFailed`), also those the strategy starts itself (a first use with `autoCreate`): the
 * provisioning object's own `provision` is wrapped once, here, so no strategy has to remember to report.
 * A call that joins a provisioning under way is not observed twice.
 */
function observeProvisioning(provisioning: TenantProvisioning, monitor: TenancyMonitor): void {
  const provision = provisioning.provision.bind(provisioning);
  provisioning.provision = (tenantId, explicit) => (provisioning.pending(tenantId)
    ? provision(tenantId, explicit)
    : monitor.provisioning(tenantId, () => provision(tenantId, explicit)));
}

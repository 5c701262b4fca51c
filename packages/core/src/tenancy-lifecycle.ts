import { TenantError } from './errors.js';
import { currentTenantScope, type TenantScope } from './tenant-context.js';

/**
 * Open, then closing, then closed. Once `close()` began, every public method is refused with
 * `ERR_TENANCY_CLOSED` before it touches anything; work already under way (a provisioning, a deletion
 * and its grace period, a migration) is waited for, so it finishes whole instead of failing halfway
 * against a closed shared database.
 */
export class TenancyLifecycle {
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing?: Promise<void>;

  /** True from the moment `close()` is called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** @throws TenantError `ERR_TENANCY_CLOSED` once `close()` was called */
  assertOpen(): void {
    if (this.#closing) {
      throw TenantError.tenancyClosed();
    }
  }

  /**
   * Starts `work` unless closing, and makes `close()` wait for it.
   * @throws TenantError `ERR_TENANCY_CLOSED` (as a rejection) once `close()` was called
   */
  track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing) {
      return Promise.reject(TenantError.tenancyClosed());
    }
    return this.trackInternal(work());
  }

  /** Makes `close()` wait for work the tenancy started itself (also while closing). */
  trackInternal<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const forget = () => { this.#inFlight.delete(promise); };
    promise.then(forget, forget);
    return promise;
  }

  /** Resolves when no tracked work is under way (work started meanwhile included). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) {
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /** Refuses new work at once, waits for the work under way, then runs `shutDown`, once: later calls share it. */
  close(shutDown: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      await this.settle();
      await shutDown();
    })();
    return this.#closing;
  }
}

/**
 * Deletions of a tenant asked for from inside that tenant's own `run()` (a user deleting their own
 * account): waiting there for the run's lease would wait on itself for the whole grace period, so the
 * deletion is handed to the outermost `run()` of that tenant in the caller's async context, which
 * performs it once it has settled.
 */
export class DeferredDeletions {
  /** Scopes entered by this tenancy's `run()` (scopes of other tenancies hold no lease of ours). */
  readonly #ours = new WeakSet<TenantScope>();
  /** Tenant id -> the scope whose `run()` deletes it when it ends. */
  readonly #byTenant = new Map<string, TenantScope>();

  /** Records a scope entered by this tenancy's `run()`. */
  own(scope: TenantScope): void {
    this.#ours.add(scope);
  }

  /** The outermost scope of ours active here (this one or one it was entered from) that holds `tenantId`. */
  holder(tenantId: string): TenantScope | undefined {
    let holder: TenantScope | undefined;
    for (let scope = currentTenantScope(); scope; scope = scope.outer) {
      if (scope.tenantId === tenantId && this.#ours.has(scope)) {
        holder = scope;
      }
    }
    return holder;
  }

  /** Hands the deletion of `tenantId` to the `run()` of `scope`. */
  defer(tenantId: string, scope: TenantScope): void {
    if (!this.#byTenant.has(tenantId)) {
      this.#byTenant.set(tenantId, scope);
    }
  }

  /** True (once) when the `run()` of `scope`, now settled, has to delete `tenantId`. */
  take(tenantId: string, scope: TenantScope): boolean {
    if (this.#byTenant.get(tenantId) !== scope) {
      return false;
    }
    this.#byTenant.delete(tenantId);
    return true;
  }

  /** Every deletion still waiting for its run (for `close()`, which performs them once the connections are closed). */
  takeAll(): string[] {
    const ids = [...this.#byTenant.keys()];
    this.#byTenant.clear();
    return ids;
  }
}

import type { CacheAdapter } from '@mikro-orm/core';

/**
 * The result caches of one tenancy's tenants: one key namespace per tenant over the app's own adapter
 * (`resultCache.adapter`: memory, Redis...), so one tenant's cached rows can never answer another's query.
 *
 * MikroORM's cache keys name the entity, method, options and condition, never the database; every tenant
 * shares the shared ORM's adapter, so each tenant writes under `<namespace>:<tenantId>:`. The keys a tenant
 * wrote in this process are remembered, so deleting the tenant removes them (keys found expired are
 * forgotten on the next miss); entries other processes wrote to a shared adapter expire on their own.
 */
export class TenantResultCaches {
  readonly #adapter: () => CacheAdapter;
  readonly #namespace: string;
  readonly #keys = new Map<string, Set<string>>();

  /**
   * @param adapter returns the app's configured adapter (read on use, so it follows the shared ORM's)
   * @param namespace unique per tenancy in this process (its tenant context-name prefix)
   */
  constructor(adapter: () => CacheAdapter, namespace: string) {
    this.#adapter = adapter;
    this.#namespace = namespace;
  }

  /** The result cache of one tenant: the app's adapter, seen through the tenant's namespace. */
  forTenant(tenantId: string): CacheAdapter {
    const prefix = `${this.#namespace}:${tenantId}:`;
    const keys = () => {
      let set = this.#keys.get(tenantId);
      if (!set) {
        set = new Set();
        this.#keys.set(tenantId, set);
      }
      return set;
    };
    const forget = (name: string) => {
      this.#keys.get(tenantId)?.delete(name);
    };
    return {
      get: async name => {
        const value = await this.#adapter().get(prefix + name);
        if (value === undefined) {
          forget(name);
        }
        return value;
      },
      set: async (name, data, origin, expiration) => {
        keys().add(name);
        await this.#adapter().set(prefix + name, data, origin, expiration);
      },
      remove: async name => {
        forget(name);
        await this.#adapter().remove(prefix + name);
      },
      // Clears this tenant's entries only: the adapter holds every tenant's.
      clear: () => this.drop(tenantId),
      // The adapter belongs to the shared ORM, which closes it.
      close: () => undefined,
    };
  }

  /** Removes every entry a tenant wrote in this process (called when the tenant is deleted). */
  async drop(tenantId: string): Promise<void> {
    const keys = this.#keys.get(tenantId);
    this.#keys.delete(tenantId);
    const adapter = this.#adapter();
    for (const name of keys ?? []) {
      await adapter.remove(`${this.#namespace}:${tenantId}:${name}`);
    }
  }
}

import type { CacheAdapter } from '@mikro-orm/core';

/** Entries a tenant wrote: key -> when it expires (ms since the epoch). */
type Written = Map<string, number>;

/** Fewest remembered keys of a tenant before expired ones are swept. */
const SWEEP_FLOOR = 64;

/**
 * The result caches of one tenancy's tenants: one key namespace per tenant over the app's own adapter
 * (`resultCache.adapter`: memory, Redis...), so one tenant's cached rows can never answer another's query.
 *
 * MikroORM's cache keys name the entity, method, options and condition, never the database; every tenant
 * shares the shared ORM's adapter, so each tenant writes under `<namespace>:<tenantId>:`. The keys a tenant
 * wrote in this process are remembered until they expire, so deleting the tenant removes its entries;
 * entries other processes wrote to a shared adapter expire on their own.
 */
export class TenantResultCaches {
  readonly #adapter: () => CacheAdapter;
  readonly #namespace: string;
  readonly #expiration: () => number;
  readonly #written = new Map<string, Written>();
  readonly #sweepAt = new Map<string, number>();

  /**
   * @param adapter returns the app's configured adapter (read on use, so it follows the shared ORM's)
   * @param namespace unique per tenancy in this process (its tenant context-name prefix)
   * @param expiration the adapter's default expiration in ms (`resultCache.expiration`)
   */
  constructor(adapter: () => CacheAdapter, namespace: string, expiration: () => number) {
    this.#adapter = adapter;
    this.#namespace = namespace;
    this.#expiration = expiration;
  }

  /** The result cache of one tenant: the app's adapter, seen through the tenant's namespace. */
  forTenant(tenantId: string): CacheAdapter {
    const prefix = `${this.#namespace}:${tenantId}:`;
    return {
      get: async name => {
        const value = await this.#adapter().get(prefix + name);
        if (value === undefined) {
          this.#written.get(tenantId)?.delete(name);
        }
        return value;
      },
      set: async (name, data, origin, expiration) => {
        this.#remember(tenantId, name, Date.now() + (expiration ?? this.#expiration()));
        await this.#adapter().set(prefix + name, data, origin, expiration);
      },
      remove: async name => {
        this.#written.get(tenantId)?.delete(name);
        await this.#adapter().remove(prefix + name);
      },
      // Clears this tenant's entries only: the adapter holds every tenant's.
      clear: () => this.drop(tenantId),
      // The adapter belongs to the shared ORM, which closes it.
      close: () => undefined,
    };
  }

  /** Removes every live entry a tenant wrote in this process (called when the tenant is deleted). */
  async drop(tenantId: string): Promise<void> {
    const written = this.#written.get(tenantId);
    this.#written.delete(tenantId);
    this.#sweepAt.delete(tenantId);
    const adapter = this.#adapter();
    for (const name of written?.keys() ?? []) {
      await adapter.remove(`${this.#namespace}:${tenantId}:${name}`);
    }
  }

  /** Keys a tenant wrote in this process and that have not expired (for tests and diagnostics). */
  written(tenantId: string): string[] {
    const now = Date.now();
    return [...(this.#written.get(tenantId) ?? [])].filter(([, expires]) => expires > now).map(([name]) => name);
  }

  #remember(tenantId: string, name: string, expires: number): void {
    let written = this.#written.get(tenantId);
    if (!written) {
      written = new Map();
      this.#written.set(tenantId, written);
    }
    written.set(name, expires);
    // Keys never read again would pile up: sweep the expired ones whenever the map has doubled.
    if (written.size >= (this.#sweepAt.get(tenantId) ?? SWEEP_FLOOR)) {
      const now = Date.now();
      for (const [key, at] of written) {
        if (at <= now) {
          written.delete(key);
        }
      }
      this.#sweepAt.set(tenantId, Math.max(SWEEP_FLOOR, written.size * 2));
    }
  }
}

/**
 * A MikroORM 7 `RequestContext` whose fork of the shared EntityManager is made on first use.
 *
 * `RequestContext.create(em, fn)` forks `em` up front. Most tenant work never touches the shared
 * EntityManager, so `tenancy.run()` would pay for two forks per call where one is used. This enters a
 * context whose map forks the shared EntityManager the first time MikroORM asks for it
 * (`RequestContext.getEntityManager(name)`, i.e. any `orm.em` call inside the scope). It relies on the
 * context keeping its forks in its public `map`, read through `map.get(name)`, and on its public static
 * `storage` (MikroORM 7's `core/src/utils/RequestContext.ts`).
 * @module
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { RequestContext, type EntityManager } from '@mikro-orm/core';

/** A map of context forks that forks `root` when its name is first looked up. */
class LazyForkMap extends Map<string, EntityManager> {
  #forking = false;

  constructor(readonly root: EntityManager) {
    super();
  }

  override get(name: string): EntityManager | undefined {
    let em = super.get(name);
    if (!em && name === this.root.name && !this.#forking) {
      // fork() resolves its own context first, which asks this map again: answer "none" meanwhile,
      // so the fork is made from what `RequestContext.create` would have forked (a transaction or the root).
      this.#forking = true;
      try {
        em = this.root.fork({ useContext: true });
      } finally {
        this.#forking = false;
      }
      this.set(name, em);
    }
    return em;
  }

  override has(name: string): boolean {
    return name === this.root.name || super.has(name);
  }
}

// Public in MikroORM 7's JavaScript, private in its typings.
const storage = (RequestContext as unknown as { storage: AsyncLocalStorage<RequestContext> }).storage;

/** True when code running now already has a MikroORM request context that resolves `em`'s name. */
export function hasRequestContextFor(em: EntityManager): boolean {
  return RequestContext.currentRequestContext()?.map.has(em.name) ?? false;
}

/** Runs `fn` inside a new MikroORM request context for `em`, forking `em` only if something inside asks for it. */
export function runInLazyRequestContext<T>(em: EntityManager, fn: () => T): T {
  return storage.run(new RequestContext(new LazyForkMap(em)), fn);
}

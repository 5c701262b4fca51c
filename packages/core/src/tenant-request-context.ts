/**
 * MikroORM's own ways to reach "the request's EntityManager" (`RequestContext.getEntityManager()`, the
 * global `orm.em`, an injected `EntityManager`, `@CreateRequestContext`/`@EnsureRequestContext`) give
 * the tenant's EntityManager inside a tenant scope.
 *
 * MikroORM resolves a context EntityManager by name: first the TransactionContext (an open
 * `em.transactional()` whose EntityManager has that name), then the `context` option, by default
 * `RequestContext.getEntityManager(name)`. A tenant scope therefore enters a RequestContext whose map
 * answers the shared ORM's `contextName` (and `'default'`) with the tenant's fork, or with the fork of
 * the tenant transaction open at that moment; every other name goes to the request context outside,
 * so other ORMs keep theirs. A shared transaction open outside the scope is hidden from MikroORM inside
 * it (else `orm.em` would resolve to it first) and kept on the scope for the library's own shared work.
 * @module
 */
import { RequestContext, TransactionContext, type Configuration, type EntityManager } from '@mikro-orm/core';
import { currentTenantScope, runInTenantScope, type TenantScope } from './tenant-context.js';

/** The tenant scope entered by `run()`: the tenant's fork, and the shared transaction open outside the scope. */
export interface ContextTenantScope<EM extends EntityManager = EntityManager> extends TenantScope<EM> {
  /** The shared ORM's transaction EntityManager that was open when the scope was entered, if any. */
  readonly outerShared?: EntityManager;
  /** The shared ORM's context name, which names the tenant in this scope (unset: MikroORM's contexts are left alone). */
  readonly sharedName?: string;
}

/** The tenant scope active now, with what `run()` keeps on it. */
export function currentContextTenantScope(): ContextTenantScope | undefined {
  return currentTenantScope() as ContextTenantScope | undefined;
}

/** The EntityManager tenant code should use now: the tenant transaction open in this async context, else the scope's fork. */
export function tenantContextEntityManager(scopeEm: EntityManager): EntityManager {
  return TransactionContext.getEntityManager(scopeEm.name) ?? scopeEm;
}

/** A RequestContext map that names the tenant's EntityManager under the shared ORM's names. */
class TenantContextMap extends Map<string, EntityManager> {
  constructor(readonly sharedName: string, readonly tenantEm: EntityManager, readonly outer?: Map<string, EntityManager>) {
    super();
  }

  #isShared(name: string): boolean {
    // 'default' is what RequestContext.getEntityManager() asks for; another ORM of that name outside keeps it.
    return name === this.sharedName || (name === 'default' && !this.outer?.has('default'));
  }

  override get(name: string): EntityManager | undefined {
    return super.get(name) ?? (this.#isShared(name) ? tenantContextEntityManager(this.tenantEm) : this.outer?.get(name));
  }

  override has(name: string): boolean {
    return super.has(name) || this.#isShared(name) || (this.outer?.has(name) ?? false);
  }
}

/**
 * The shared ORM's transaction EntityManager open in the caller's context (the TransactionContext of
 * `sharedName`), to keep on a tenant scope entered now: inside it MikroORM will not see it.
 */
export function outerSharedTransaction(sharedName: string): EntityManager | undefined {
  return TransactionContext.getEntityManager(sharedName);
}

/**
 * Runs `fn` in `scope` with MikroORM's contexts resolving the shared ORM's name (`sharedName`) to the
 * tenant: `RequestContext.getEntityManager()` and every context-aware EntityManager of that name (the
 * global `orm.em`) give the tenant's fork, or its open transaction. `scope.outerShared` (see
 * {@link outerSharedTransaction}) is hidden from MikroORM inside.
 * @example
 * await runInTenantContexts(orm.em.name, { tenantId: 'acme', em }, () => orm.em.find(Note, {}));
 */
export function runInTenantContexts<T>(sharedName: string, scope: ContextTenantScope, fn: () => T): T {
  const outerMap = RequestContext.currentRequestContext()?.map;
  const map = new TenantContextMap(sharedName, scope.em, outerMap);
  // RequestContext.create() with no EntityManager forks nothing; its map is then replaced by ours.
  const inContexts = () => RequestContext.create([], () => {
    (RequestContext.currentRequestContext() as { map: Map<string, EntityManager> }).map = map;
    return fn();
  });
  return runInTenantScope(scope, scope.outerShared
    // The tenant's fork shadows the shared transaction: its name differs, so MikroORM falls through to the map.
    ? () => TransactionContext.create(scope.em, inContexts)
    : inContexts);
}

/**
 * Makes the shared ORM's `context` option follow the tenant scope where a RequestContext made inside it
 * by other code shadows the one `run()` entered:
 * - a tenant EntityManager found under the shared name resolves to its open transaction, as MikroORM
 *   does for its own names (`@CreateRequestContext()` forks `orm.em`, which is the tenant's there, into
 *   a map of its own; without this, `orm.em` inside a transaction begun there would be the plain fork,
 *   whose queries wait for the connection the transaction holds);
 * - a request context without the shared name (`RequestContext.create(tenancy.em, fn)`) still gives the tenant.
 */
export function resolveTenantTransactionsInContext(config: Configuration, sharedName: string): void {
  const base = config.get('context');
  config.set('context', (name: string) => {
    const em = base(name);
    if (em) {
      return em.name !== name ? tenantContextEntityManager(em) : em;
    }
    const scope = currentContextTenantScope();
    return scope?.sharedName === sharedName && name === sharedName ? tenantContextEntityManager(scope.em) : undefined;
  });
}

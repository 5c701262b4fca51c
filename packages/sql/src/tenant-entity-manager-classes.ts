/**
 * The tenant EntityManager classes of every SQL strategy, either MikroORM major: the app's `entityManager`
 * class with the tenant behaviour mixed in (name, tenant id, a cheaper fork (`tenant-fork.ts`), and for `tenancy.em` the
 * resolution to the active tenant). Only `@mikro-orm/core`'s EntityManager API is used, so one mixin
 * serves both majors; the strategies' per-major files bind drivers and configurations to tenants.
 * @module
 */
import { TransactionContext, type ConnectionType, type EntityManager, type ForkOptions } from '@mikro-orm/core';
import { currentTenantScope, requireTenantScope, type TenantScope } from '@mikro-tenant/core';
import { tenantFork } from './tenant-fork.js';

/** A class of EntityManager (the app's `entityManager` option, or the driver's `SqlEntityManager`). */
export type EntityManagerClass = new (...args: any[]) => EntityManager;

/** What differs between the strategies' tenant EntityManagers. */
export interface TenantEntityManagerTraits {
  /** Set on the prototype of every tenant EntityManager class (its `instanceof` brand). */
  readonly tenantBrand: symbol;
  /** Set on the prototype of every `tenancy.em` class. */
  readonly contextBrand: symbol;
  /**
   * The name a tenant EntityManager takes, from its constructor's arguments (config, driver, ...), where
   * it is not the configuration's `contextName` (MikroORM's default).
   */
  readonly nameOf?: (args: readonly unknown[]) => string;
}

/** The two classes made over one app class: tenant EntityManagers, and `tenancy.em`. */
export interface TenantEntityManagerClassPair {
  readonly em: EntityManagerClass;
  readonly context: EntityManagerClass;
}

/** The tenant classes of a strategy, made once per app class (see {@link tenantEntityManagerClasses}). */
export interface TenantEntityManagerClasses {
  /** The pair over `Base` (the strategy's default class when omitted), made on first use. */
  over(Base?: EntityManagerClass): TenantEntityManagerClassPair;
  /** The `tenancy.em` class that goes with a tenant EntityManager class (the app's configured one), if it is one. */
  contextClassOf(emClass: unknown): EntityManagerClass | undefined;
}

/** The connection of a tenant driver knows its tenant (unbound: none). */
interface BoundConnection {
  readonly binding?: { readonly tenantId: string };
}

/**
 * The tenant EntityManager classes of one strategy and major.
 * @param DefaultBase the major's `SqlEntityManager`, used when the app names no `entityManager` class
 */
export function tenantEntityManagerClasses(DefaultBase: EntityManagerClass, traits: TenantEntityManagerTraits): TenantEntityManagerClasses {
  const pairs = new WeakMap<EntityManagerClass, TenantEntityManagerClassPair>();
  const contextClasses = new WeakMap<object, EntityManagerClass>();
  const over = (Base: EntityManagerClass = DefaultBase): TenantEntityManagerClassPair => {
    let pair = pairs.get(Base);
    if (!pair) {
      pair = makePair(Base, traits);
      pairs.set(Base, pair);
      contextClasses.set(pair.em, pair.context);
    }
    return pair;
  };
  return Object.freeze({ over, contextClassOf: (emClass: unknown) => contextClasses.get(emClass as object) });
}

function makePair(Base: EntityManagerClass, { tenantBrand, contextBrand, nameOf }: TenantEntityManagerTraits): TenantEntityManagerClassPair {
  class TenantEm extends Base {
    constructor(...args: any[]) {
      super(...args);
      if (nameOf) {
        (this as { name: string }).name = nameOf(args);
      }
    }

    get tenantId(): string | undefined {
      return (this.getDriver().getConnection() as BoundConnection).binding?.tenantId;
    }

    // The tenant label is copied and the configuration is not written (tenant-fork.ts): the same fork, cheaper.
    override fork(options: ForkOptions = {}): any {
      return tenantFork(this as never, options, o => super.fork(o) as never, contextBrand in this);
    }
  }
  Object.defineProperty(TenantEm.prototype, tenantBrand, { value: true });

  class TenantContextEm extends TenantEm {
    /** False while MikroORM's constructor runs (it resolves the context to build its helpers). */
    declare private armed?: boolean;
    /** Throws once the tenancy is closed (`ERR_TENANCY_CLOSED`), inside a tenant scope or not. */
    declare assertUsable?: () => void;

    constructor(...args: any[]) {
      super(...args);
      // The name follows the active tenant, so `RequestContext.create(tenancy.em, fn)` stores its fork under
      // the tenant's name, where getContext() finds it. (MikroORM declares `name` as a field: set it per instance.)
      const unboundName = this.name;
      Object.defineProperty(this, 'name', {
        configurable: true,
        get: () => currentTenantScope<EntityManager>()?.em.name ?? unboundName,
      });
      this.armed = true;
    }

    override getContext(_validate = true): this {
      if (!this.armed) {
        return this;
      }
      this.assertUsable?.();
      return this.#resolve(requireTenantScope<EntityManager>());
    }

    // Outside a scope these return the unbound driver/connection, whose every query throws ERR_NO_TENANT_CONTEXT.
    override getDriver(): any {
      if (!this.armed) {
        return super.getDriver();
      }
      this.assertUsable?.();
      const scope = currentTenantScope<EntityManager>();
      return scope ? this.#resolve(scope).getDriver() : super.getDriver();
    }

    override getConnection(type?: ConnectionType): any {
      if (!this.armed) {
        return super.getConnection(type);
      }
      this.assertUsable?.();
      const scope = currentTenantScope<EntityManager>();
      return scope ? this.#resolve(scope).getConnection(type) : super.getConnection(type);
    }

    /** The EntityManager `scope` resolves to: its open transaction, its request-context fork, or its own fork. */
    #resolve(scope: TenantScope<EntityManager>): this {
      const name = scope.em.name;
      const transaction = TransactionContext.getEntityManager(name);
      if (transaction) {
        return transaction as this;
      }
      // The request context (`RequestContext.create(tenancy.em, fn)`), through the app's `context` option; an
      // EntityManager of another name (a `context` that ignores the name) is never taken for the tenant's.
      const requested = this.config.get('context')(name);
      return (requested?.name === name ? requested : scope.em) as this;
    }
  }
  Object.defineProperty(TenantContextEm.prototype, contextBrand, { value: true });
  return { em: TenantEm, context: TenantContextEm };
}

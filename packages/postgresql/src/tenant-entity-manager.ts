/**
 * The public face of tenant EntityManagers, the same on MikroORM 6 and 7: their type (`@mikro-orm/core`'s
 * `EntityManager`, or the app's class, plus the tenant id) and `instanceof` checks that hold whatever the
 * app's `entityManager` class. The classes themselves are made per major (`mikro-orm-6/`, `mikro-orm-7/`),
 * which mark their prototypes with the symbols below.
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';

/** On the prototype of every tenant EntityManager class (the app's class with the tenant behaviour mixed in). */
export const TENANT_ENTITY_MANAGER: unique symbol = Symbol.for('mikro-tenant.entityManager') as never;
/** On the prototype of every class of `tenancy.em` (the EntityManager that resolves to the active tenant's). */
export const TENANT_CONTEXT_ENTITY_MANAGER: unique symbol = Symbol.for('mikro-tenant.pgContextEntityManager') as never;

/**
 * An EntityManager bound to one tenant's schema: an instance of the app's `entityManager` class (MikroORM's
 * `SqlEntityManager` by default); forks keep the tenant. For SQL methods (`createQueryBuilder()`,
 * `execute()`) type the tenancy with your SQL EntityManager: `PostgresSchemaTenancy<SqlEntityManager>`.
 */
export type TenantEntityManager<EM extends EntityManager = EntityManager> = EM & {
  /** Canonical id of the tenant this EntityManager belongs to. */
  readonly tenantId: string | undefined;
};

/**
 * `tenancy.em`: every call resolves to the active tenant's EntityManager (or its open transaction, or the
 * fork `RequestContext.create()` made of it) and throws `ERR_NO_TENANT_CONTEXT` outside a tenant scope.
 */
export type TenantContextEntityManager<EM extends EntityManager = EntityManager> = TenantEntityManager<EM>;

function branded(symbol: symbol): { [Symbol.hasInstance](value: unknown): boolean } {
  return Object.freeze({
    [Symbol.hasInstance]: (value: unknown) => typeof value === 'object' && value !== null && symbol in value,
  });
}

/** `em instanceof TenantEntityManager`: true for every tenant EntityManager (`tenancy.em` included), whatever its class. */
export const TenantEntityManager = branded(TENANT_ENTITY_MANAGER);

/** `em instanceof TenantContextEntityManager`: true for `tenancy.em` only. */
export const TenantContextEntityManager = branded(TENANT_CONTEXT_ENTITY_MANAGER);

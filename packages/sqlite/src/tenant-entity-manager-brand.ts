/**
 * Set (as a non-enumerable `true`) on the prototype of every tenant EntityManager class, whatever the
 * MikroORM major and the app's `entityManager` class: `instanceof TenantEntityManager` checks it.
 */
export const TENANT_ENTITY_MANAGER: unique symbol = Symbol('mikro-tenant.entityManager');

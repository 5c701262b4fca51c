/**
 * The few methods of MikroORM's global `orm.em` that do not resolve the request context.
 *
 * `find`, `create`, `flush`, `transactional`, repositories and the rest resolve `orm.em` to the context's
 * EntityManager on every call, which inside a tenant scope is the tenant's (see tenant-request-context.ts).
 * `SqlEntityManager.createQueryBuilder()` and `execute()` use the global EntityManager's own driver
 * instead, with the context's transaction: inside a tenant transaction that mixes the shared driver
 * with the tenant's connection. On the global EntityManager only (its forks are untouched), these two
 * follow the context when it is a tenant's. `getDriver()` and `getConnection()` stay the shared
 * database's: MikroORM's schema generator and migrator take them.
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { currentTenantScope } from '@mikro-tenant/core';

/** The two methods of MikroORM's `SqlEntityManager` (either major) that take the global EntityManager's own driver. */
interface SqlEntityManager extends EntityManager {
  createQueryBuilder(...args: unknown[]): unknown;
  execute(...args: unknown[]): unknown;
}

/** The EntityManager standing in for `em` in a tenant scope (a tenant's: its name differs), if any. */
function tenantStandIn(em: EntityManager): SqlEntityManager | undefined {
  if (!currentTenantScope()) {
    return undefined;
  }
  const context = em.getContext(false);
  return context !== em && context.name !== em.name ? context as SqlEntityManager : undefined;
}

/**
 * Makes `createQueryBuilder()`/`qb()` and `execute()` of the shared ORM's global EntityManager use the
 * tenant's EntityManager inside a tenant scope, like every other method of it.
 */
export function followTenantContext(em: EntityManager): void {
  const { createQueryBuilder, execute } = em as SqlEntityManager;
  Object.defineProperties(em, {
    createQueryBuilder: {
      configurable: true,
      value(this: SqlEntityManager, ...args: unknown[]) {
        const tenant = tenantStandIn(this);
        return tenant ? tenant.createQueryBuilder(...args) : createQueryBuilder.apply(this, args);
      },
    },
    execute: {
      configurable: true,
      value(this: SqlEntityManager, ...args: unknown[]) {
        const tenant = tenantStandIn(this);
        return tenant ? tenant.execute(...args) : execute.apply(this, args);
      },
    },
  });
}

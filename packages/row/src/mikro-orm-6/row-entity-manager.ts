/**
 * MikroORM 6's EntityManager of a row tenancy: the guarded EntityManager both majors share
 * (../row-entity-manager.ts: reads, identity-map answers, inserts and upserts, QueryBuilders limited by
 * query-builder-scope.ts) over `@mikro-orm/knex`'s SqlEntityManager, with what touches knex:
 * - `execute`: raw SQL naming a tenant-owned table is refused unless the database enforces the tenant.
 * Flushes are checked by the flush guard (../flush-guard.ts).
 * @module
 */
import { Utils, type EntityName } from '@mikro-orm/core';
import { SqlEntityManager } from '@mikro-orm/knex';
import { TenantError } from '@mikro-tenant/core';
import { scopeOf } from '../row-scope.js';
import type { RowGuardSettings } from '../orm-adapter.js';
import { rowEntityManagerMixin, type RowEntityManagerParts } from '../row-entity-manager.js';
import { scopeQueryBuilder } from './query-builder-scope.js';

/**
 * The EntityManager class a tenancy extends: the app's own (`entityManager` option) or MikroORM's.
 * @throws TenantError `ERR_INVALID_OPTION` for a class that is not a SQL driver's EntityManager
 */
export function sqlEntityManagerBase(given: unknown): typeof SqlEntityManager {
  const Base = (given ?? SqlEntityManager) as typeof SqlEntityManager;
  if (Base !== SqlEntityManager && !(Base.prototype instanceof SqlEntityManager)) {
    throw TenantError.invalidOption('entityManager', 'RowTenancy needs a SQL driver\'s EntityManager (SqlEntityManager or a subclass)');
  }
  return Base;
}

/** MikroORM keeps `loggerContext` protected; this file reads it. */
type AnyEm = any;
type SqlEmClass = typeof SqlEntityManager;

/** What MikroORM 6 gives the shared EntityManager: entities named by class name (a class's `name`, an entity's constructor; the flush guard uses it too). */
export const rowEntityManagerParts: RowEntityManagerParts = {
  className: (_em, entityName) => Utils.className(entityName as EntityName<any>),
  classNameOfEntity: entity => entity.constructor.name,
  driverEntityName: meta => meta.className,
  scopeQueryBuilder,
};

/** Creates the EntityManager class of a tenancy, over `Base` (MikroORM's, or the app's own subclass). */
export function rowEntityManagerClass(Base: SqlEmClass, settings: RowGuardSettings): SqlEmClass {
  const { model, guard } = settings;

  class RowTenantEntityManager extends rowEntityManagerMixin(Base, settings, rowEntityManagerParts) {
    override async execute(queryOrKnex: any, params?: any[], method?: any, loggerContext?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      if (em !== this) {
        return em.execute(queryOrKnex, params, method, loggerContext);
      }
      const scope = scopeOf(em);
      if (guard && !settings.databaseEnforces && !(scope && 'all' in scope)) {
        const sql = typeof queryOrKnex === 'string' ? queryOrKnex : String(queryOrKnex?.toString?.() ?? '');
        if (model.mentionsTenantTable(sql)) {
          throw TenantError.unscopedQuery('Raw SQL naming a tenant-owned table');
        }
      }
      // The statement carries the scope, for the database's row level security and the query log.
      return super.execute(queryOrKnex, params, method, { ...em.loggerContext, ...loggerContext });
    }
  }

  Object.defineProperty(RowTenantEntityManager, 'name', { value: `RowTenant${Base.name}` });
  return RowTenantEntityManager as unknown as SqlEmClass;
}

/**
 * MikroORM 7's EntityManager of a row tenancy: the guarded EntityManager both majors share
 * (../row-entity-manager.ts: reads, identity-map answers, inserts and upserts, QueryBuilders limited by
 * query-builder-scope.ts) over `@mikro-orm/sql`'s SqlEntityManager, with what touches kysely or is new in 7:
 * - `execute`: raw SQL naming a tenant-owned table is refused unless the database enforces the tenant;
 * - `clone` copies only the tenant's rows and never into another tenant, `callRoutine` (SQL the ORM cannot
 *   see) is refused unless the database enforces the tenant; `countBy` and `stream` go through the shared
 *   filters. `getKysely()` is the driver's handle (only the database holds it).
 * Flushes are checked by the flush guard (../flush-guard.ts).
 * @module
 */
import { Utils, helper, type EntityName } from '@mikro-orm/core';
import { SqlEntityManager } from '@mikro-orm/sql';
import { TenantError } from '@mikro-tenant/core';
import { requireTenant, scopeOf } from '../row-scope.js';
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

/** The class name of an entity name (MikroORM 7 passes classes and entity schemas, 6 strings too). */
function classNameOf(em: AnyEm, entityName: unknown): string {
  return em.metadata.find(entityName)?.className ?? Utils.className(entityName as EntityName<any>);
}

/** The SQL of what `em.execute()` takes on 7: a string, a raw fragment or a native query builder. */
function sqlOf(query: any): string {
  if (typeof query === 'string') {
    return query;
  }
  return String(query?.sql ?? query?.toRaw?.()?.sql ?? query?.toString?.() ?? '');
}

/** What MikroORM 7 gives the shared EntityManager: entities named through the metadata, as 7 passes classes and entity schemas (the flush guard uses it too). */
export const rowEntityManagerParts: RowEntityManagerParts = {
  className: classNameOf,
  classNameOfEntity: entity => helper(entity).__meta.className,
  driverEntityName: meta => meta.class,
  scopeQueryBuilder,
};

/** Creates the EntityManager class of a tenancy, over `Base` (MikroORM's, or the app's own subclass). */
export function rowEntityManagerClass(Base: SqlEmClass, settings: RowGuardSettings): SqlEmClass {
  const { model, guard } = settings;

  class RowTenantEntityManager extends rowEntityManagerMixin(Base, settings, rowEntityManagerParts) {
    override async execute(query: any, params?: any, methodOrOptions?: any, loggerContext?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      if (em !== this) {
        return em.execute(query, params, methodOrOptions, loggerContext);
      }
      const scope = scopeOf(em);
      if (guard && !settings.databaseEnforces && !(scope && 'all' in scope) && model.mentionsTenantTable(sqlOf(query))) {
        throw TenantError.unscopedQuery('Raw SQL naming a tenant-owned table');
      }
      // The statement carries the scope, for the database's row level security and the query log.
      if (methodOrOptions !== null && typeof methodOrOptions === 'object') {
        return super.execute(query, params, { ...methodOrOptions, loggerContext: { ...em.loggerContext, ...methodOrOptions.loggerContext } });
      }
      return super.execute(query, params, methodOrOptions, { ...em.loggerContext, ...loggerContext });
    }

    override async clone(entityNameOrEntity: any, whereOrOverrides?: any, overridesOrOptions?: any, options?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      if (em !== this) {
        return em.clone(entityNameOrEntity, whereOrOverrides, overridesOrOptions, options);
      }
      const isEntity = Utils.isEntity(entityNameOrEntity);
      const meta = isEntity ? helper(entityNameOrEntity).__meta : em.metadata.find(entityNameOrEntity);
      const prop = guard && meta ? model.propertyOf(meta.className) : undefined;
      const tenantId = prop ? requireTenant(scopeOf(em), `cloning ${meta.className}`) : undefined;
      if (!prop || tenantId === undefined) {
        return super.clone(entityNameOrEntity, whereOrOverrides, overridesOrOptions, options);
      }
      const overrides = isEntity ? whereOrOverrides : overridesOrOptions;
      if (overrides?.[prop] != null && overrides[prop] !== tenantId) {
        throw TenantError.foreignTenantRow(meta.className, 'a copy naming another tenant');
      }
      // MikroORM copies with a driver-level INSERT ... SELECT that applies no filter: the source is limited here.
      const where = isEntity ? helper(entityNameOrEntity).getPrimaryKey() : whereOrOverrides;
      const own = { $and: [Utils.isPlainObject(where) ? where : { [meta.primaryKeys[0]]: where }, { [prop]: tenantId }] };
      if ((await em.count(meta.class, own)) === 0) {
        throw TenantError.foreignTenantRow(meta.className, 'a copy of a row of another tenant (or of no row)');
      }
      return isEntity
        ? super.clone(meta.class, own, whereOrOverrides, overridesOrOptions)
        : super.clone(entityNameOrEntity, own, overridesOrOptions, options);
    }

    override async callRoutine(routine: any, args?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const scope = scopeOf(em);
      // A routine's body is SQL the ORM cannot see: only the database can hold the tenant there.
      if (guard && !settings.databaseEnforces && !(scope && 'all' in scope)) {
        throw TenantError.unscopedQuery(`Calling the stored routine ${String(routine?.name ?? '')}`);
      }
      return super.callRoutine(routine, args);
    }
  }

  Object.defineProperty(RowTenantEntityManager, 'name', { value: `RowTenant${Base.name}` });
  return RowTenantEntityManager as unknown as SqlEmClass;
}

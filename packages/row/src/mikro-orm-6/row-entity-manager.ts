/**
 * The EntityManager of a row tenancy: MikroORM's SQL EntityManager whose every way to a tenant-owned entity
 * is limited to the tenant its logger context names (see row-scope.ts), or refused.
 * - reads, `nativeUpdate`, `nativeDelete`, populate and lazy loads: the tenant condition is added where
 *   MikroORM applies filters, whatever filters the caller turned off;
 * - `findOne` answered from the identity map: an entity of another tenant is not returned;
 * - `insert`, `insertMany`, `upsert`, `upsertMany`: the tenant column is filled, another tenant's id refused,
 *   and an upsert never takes over another tenant's row (its merge is limited to the tenant);
 * - `createQueryBuilder`: limited when finalized (query-builder-scope.ts);
 * - `execute`: raw SQL naming a tenant-owned table is refused unless the database enforces the tenant.
 * Flushes are checked by the flush guard (flush-guard.ts).
 * @module
 */
import { QueryHelper, Utils, helper, type Dictionary, type EntityName, type FilterQuery } from '@mikro-orm/core';
import { SqlEntityManager } from '@mikro-orm/knex';
import { TenantError } from '@mikro-tenant/core';
import { INCARNATION_KEY, UNSCOPED_KEY, TENANT_KEY, requireTenant, scopeOf } from '../row-scope.js';
import type { RowGuardSettings } from '../orm-adapter.js';
import type { TenantOwnedModel } from '../tenant-owned-model.js';
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

/** Creates the EntityManager class of a tenancy, over `Base` (MikroORM's, or the app's own subclass). */
export function rowEntityManagerClass(Base: SqlEmClass, settings: RowGuardSettings): SqlEmClass {
  const { model, guard } = settings;

  /** Checks and fills the tenant column of data written by `insert`/`upsert`; returns the data to write. */
  function fill(em: AnyEm, entityName: string, data: any): any {
    const prop = model.propertyOf(entityName);
    if (!prop || data == null) {
      return data;
    }
    const tenantId = requireTenant(scopeOf(em), `writing ${entityName}`);
    if (tenantId === undefined) {
      return data;
    }
    const row = data as Dictionary;
    if (row[prop] == null) {
      if (Utils.isEntity(row)) {
        row[prop] = tenantId;
        return row;
      }
      return { ...(row as object), [prop]: tenantId };
    }
    if (guard && row[prop] !== tenantId) {
      throw TenantError.foreignTenantRow(entityName, 'a row naming another tenant');
    }
    return row;
  }

  function entityNameOf(entityNameOrEntity: unknown, data: unknown): string {
    if (data === undefined) {
      const first = Array.isArray(entityNameOrEntity) ? entityNameOrEntity[0] : entityNameOrEntity;
      return (first as object).constructor.name;
    }
    return Utils.className(entityNameOrEntity as EntityName<any>);
  }

  class RowTenantEntityManager extends Base {
    /** Set on `tenancy.em` only: it resolves to the tenant of the scope, or refuses. */
    contextCheck?: () => void;

    override getContext(validate = true): this {
      if (!this.contextCheck) {
        return super.getContext(validate);
      }
      this.contextCheck();
      const em = super.getContext(false);
      if (em === this) {
        throw TenantError.noTenantContext('tenancy.em');
      }
      return em;
    }

    override async applyFilters<Entity extends object>(entityName: string, where: FilterQuery<Entity> | undefined, options: any, type: 'read' | 'update' | 'delete', findOptions?: any): Promise<FilterQuery<Entity> | undefined> {
      const filtered = await super.applyFilters(entityName, where, options, type, findOptions);
      const prop = guard ? model.propertyOf(entityName) : undefined;
      if (!prop) {
        return filtered;
      }
      const tenantId = requireTenant(scopeOf(this), entityName);
      if (tenantId === undefined) {
        return filtered;
      }
      const cond = QueryHelper.processWhere({
        where: { [prop]: tenantId } as FilterQuery<Entity>, entityName, metadata: this.metadata, platform: this.driver.getPlatform(), aliased: type === 'read',
      });
      return filtered && Utils.hasObjectKeys(filtered) ? { $and: [cond, filtered] } as FilterQuery<Entity> : cond;
    }

    override async findOne(entityName: any, where: any, options?: any): Promise<any> {
      const found = await super.findOne(entityName, where, options);
      const prop = guard && found ? model.propertyOf(helper(found as object).__meta.className) : undefined;
      if (prop) {
        // The identity map answers without a query: an entity another scope put there is not this tenant's.
        const tenantId = requireTenant(scopeOf(this.getContext(false)), helper(found as object).__meta.className);
        const owner = (found as Dictionary)[prop];
        if (tenantId !== undefined && owner != null && owner !== tenantId) {
          return null;
        }
      }
      return found;
    }

    override async insert(entityNameOrEntity: any, data?: any, options?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(entityNameOrEntity, data);
      return data === undefined
        ? super.insert.call(em, fill(em, name, entityNameOrEntity), undefined, options)
        : super.insert.call(em, entityNameOrEntity, fill(em, name, data), options);
    }

    override async insertMany(entityNameOrEntities: any, data?: any, options?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(entityNameOrEntities, data);
      return data === undefined
        ? super.insertMany.call(em, (entityNameOrEntities as any[]).map(row => fill(em, name, row)), undefined, options)
        : super.insertMany.call(em, entityNameOrEntities, (data as any[]).map(row => fill(em, name, row)), options);
    }

    override async upsert(entityNameOrEntity: any, data?: any, options: any = {}): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(entityNameOrEntity, data);
      const scoped = upsertOptions(em, name, options);
      const result = data === undefined
        ? await super.upsert.call(em, fill(em, name, entityNameOrEntity), undefined, scoped)
        : await super.upsert.call(em, entityNameOrEntity, fill(em, name, data), scoped);
      await assertWritten(em, name, result ? [result] : []);
      return result;
    }

    override async upsertMany(entityNameOrEntities: any, data?: any, options: any = {}): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(entityNameOrEntities, data);
      const scoped = upsertOptions(em, name, options);
      const result = data === undefined
        ? await super.upsertMany.call(em, (entityNameOrEntities as any[]).map(row => fill(em, name, row)), undefined, scoped)
        : await super.upsertMany.call(em, entityNameOrEntities, (data as any[]).map(row => fill(em, name, row)), scoped);
      await assertWritten(em, name, result);
      return result;
    }

    override async nativeUpdate(entityName: any, where: any, data: any, options?: any): Promise<number> {
      const name = Utils.className(entityName);
      const prop = guard ? model.propertyOf(name) : undefined;
      if (prop && data?.[prop] != null && data[prop] !== requireTenant(scopeOf(this.getContext(false)), name)) {
        throw TenantError.foreignTenantRow(name, 'moving rows to another tenant');
      }
      return super.nativeUpdate(entityName, where, data, options);
    }

    override createQueryBuilder(entityName: any, alias?: any, type?: any, loggerContext?: any): any {
      const em = this.getContext(false);
      if (em !== this) {
        return em.createQueryBuilder(entityName, alias, type, loggerContext);
      }
      const qb = super.createQueryBuilder(entityName, alias, type, loggerContext);
      return guard ? scopeQueryBuilder(qb, scopeOf(this), model) : qb;
    }

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

    override setLoggerContext(context: Dictionary): void {
      const em = this.getContext() as AnyEm;
      const kept = Object.fromEntries(Object.entries(em.loggerContext ?? {}).filter(([key]) => key === TENANT_KEY || key === INCARNATION_KEY || key === UNSCOPED_KEY));
      super.setLoggerContext({ ...context, ...kept });
    }
  }

  function upsertOptions(em: AnyEm, name: string, options: Dictionary): Dictionary {
    const prop = guard ? model.propertyOf(name) : undefined;
    const tenantId = prop ? requireTenant(scopeOf(em), `upserting ${name}`) : undefined;
    if (!prop || tenantId === undefined) {
      return options;
    }
    // On conflict with another tenant's row, nothing is merged.
    const own = { [prop]: tenantId };
    return { ...options, onConflictWhere: options.onConflictWhere ? { $and: [own, options.onConflictWhere] } : own };
  }

  /**
   * An upsert that met another tenant's row merged nothing (its merge is limited to the tenant), yet MikroORM
   * hands back an entity built from the input: one query says whether the rows are the tenant's.
   */
  async function assertWritten(em: AnyEm, name: string, entities: any[]): Promise<void> {
    const prop = guard ? model.propertyOf(name) : undefined;
    const tenantId = prop ? requireTenant(scopeOf(em), `upserting ${name}`) : undefined;
    if (!prop || tenantId === undefined || entities.length === 0) {
      return;
    }
    const meta = helper(entities[0]).__meta;
    const ids = entities.map(entity => helper(entity).getPrimaryKey());
    const found = await em.getDriver().count(meta.className, { [meta.primaryKeys[0]!]: { $in: ids }, [prop]: tenantId }, {
      ctx: em.getTransactionContext(), loggerContext: em.loggerContext,
    });
    if (found < new Set(ids.map(String)).size) {
      entities.forEach(entity => em.getUnitOfWork().unsetIdentity(entity));
      throw TenantError.foreignTenantRow(name, 'an upsert meeting a row of another tenant');
    }
  }

  Object.defineProperty(RowTenantEntityManager, 'name', { value: `RowTenant${Base.name}` });
  return RowTenantEntityManager as unknown as SqlEmClass;
}

/**
 * The part of a row tenancy's EntityManager that reads the same on MikroORM 6 and 7 (it uses only
 * `@mikro-orm/core`'s API): every way to a tenant-owned entity is limited to the tenant its logger context
 * names (see row-scope.ts), or refused.
 * - reads, `nativeUpdate`, `nativeDelete`, populate and lazy loads: the tenant condition is added where
 *   MikroORM applies filters, whatever filters the caller turned off;
 * - `findOne` answered from the identity map: an entity of another tenant is not returned;
 * - `insert`, `insertMany`, `upsert`, `upsertMany`: the tenant column is filled, another tenant's id refused,
 *   and an upsert never takes over another tenant's row (its merge is limited to the tenant);
 * - `createQueryBuilder`: limited when finalized (the major's `query-builder-scope.ts`).
 * Each major's `row-entity-manager.ts` extends it with what touches its SQL package (`execute`, and on 7
 * `clone` and `callRoutine`). Flushes are checked by the flush guard (flush-guard.ts).
 * @module
 */
import { QueryHelper, Utils, helper, type Dictionary, type FilterQuery } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import type { DriverEntityName } from './entity-metadata.js';
import type { RowGuardSettings } from './orm-adapter.js';
import { INCARNATION_KEY, UNSCOPED_KEY, TENANT_KEY, requireTenant, scopeOf, type RowScope } from './row-scope.js';
import type { TenantOwnedModel } from './tenant-owned-model.js';

/** What a major gives the shared EntityManager: how it names the entities its methods are given, and its QueryBuilder scope. */
export interface RowEntityManagerParts {
  /** The class name of an entity name as the EntityManager's methods take it (6: a string or a class; 7: a class or a schema too). */
  className(em: any, entityName: unknown): string;
  /** The class name of an entity given without an entity name (`insert(entity)`). */
  classNameOfEntity(entity: object): string;
  /** What the driver's `count()` takes for an entity. */
  driverEntityName: DriverEntityName;
  /** Marks a QueryBuilder of the EntityManager as made for `scope`: it is limited to the tenant when finalized. */
  scopeQueryBuilder<T extends object>(qb: T, scope: RowScope, model: TenantOwnedModel): T;
}

/** MikroORM keeps `loggerContext` protected; this file reads it. */
type AnyEm = any;
/** The installed major's SQL EntityManager class (or the app's subclass), typed loosely: its signatures differ by major. */
type AnyEmClass = abstract new (...args: any[]) => any;

/**
 * The guarded EntityManager class over `Base` (MikroORM's SQL EntityManager, or the app's own subclass), with
 * the overrides both majors share; each major subclasses it.
 */
export function rowEntityManagerMixin<T extends AnyEmClass>(Base: T, settings: RowGuardSettings, naming: RowEntityManagerParts): T {
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

  function entityNameOf(em: AnyEm, entityNameOrEntity: unknown, data: unknown): string {
    if (data === undefined) {
      const first = Array.isArray(entityNameOrEntity) ? entityNameOrEntity[0] : entityNameOrEntity;
      return naming.classNameOfEntity(first as object);
    }
    return naming.className(em, entityNameOrEntity);
  }

  abstract class GuardedEntityManager extends (Base as AnyEmClass) {
    /** Set on `tenancy.em` only: it resolves to the tenant of the scope, or refuses. */
    contextCheck?: () => void;

    getContext(validate = true): any {
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

    async applyFilters<Entity extends object>(entityName: unknown, where: FilterQuery<Entity> | undefined, options: any, type: 'read' | 'update' | 'delete', findOptions?: any): Promise<FilterQuery<Entity> | undefined> {
      const filtered = await super.applyFilters(entityName, where, options, type, findOptions);
      const name = naming.className(this, entityName);
      const prop = guard ? model.propertyOf(name) : undefined;
      if (!prop) {
        return filtered;
      }
      const tenantId = requireTenant(scopeOf(this as never), name);
      if (tenantId === undefined) {
        return filtered;
      }
      const cond = QueryHelper.processWhere({
        where: { [prop]: tenantId } as FilterQuery<Entity>, entityName: entityName as never, metadata: this.metadata, platform: this.driver.getPlatform(), aliased: type === 'read',
      });
      return filtered && Utils.hasObjectKeys(filtered) ? { $and: [cond, filtered] } as FilterQuery<Entity> : cond;
    }

    async findOne(entityName: any, where: any, options?: any): Promise<any> {
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

    async insert(entityNameOrEntity: any, data?: any, options?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(em, entityNameOrEntity, data);
      return data === undefined
        ? super.insert.call(em, fill(em, name, entityNameOrEntity), undefined, options)
        : super.insert.call(em, entityNameOrEntity, fill(em, name, data), options);
    }

    async insertMany(entityNameOrEntities: any, data?: any, options?: any): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(em, entityNameOrEntities, data);
      return data === undefined
        ? super.insertMany.call(em, (entityNameOrEntities as any[]).map(row => fill(em, name, row)), undefined, options)
        : super.insertMany.call(em, entityNameOrEntities, (data as any[]).map(row => fill(em, name, row)), options);
    }

    async upsert(entityNameOrEntity: any, data?: any, options: any = {}): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(em, entityNameOrEntity, data);
      const scoped = upsertOptions(em, name, options);
      const result = data === undefined
        ? await super.upsert.call(em, fill(em, name, entityNameOrEntity), undefined, scoped)
        : await super.upsert.call(em, entityNameOrEntity, fill(em, name, data), scoped);
      await assertWritten(em, name, result ? [result] : []);
      return result;
    }

    async upsertMany(entityNameOrEntities: any, data?: any, options: any = {}): Promise<any> {
      const em = this.getContext(false) as AnyEm;
      const name = entityNameOf(em, entityNameOrEntities, data);
      const scoped = upsertOptions(em, name, options);
      const result = data === undefined
        ? await super.upsertMany.call(em, (entityNameOrEntities as any[]).map(row => fill(em, name, row)), undefined, scoped)
        : await super.upsertMany.call(em, entityNameOrEntities, (data as any[]).map(row => fill(em, name, row)), scoped);
      await assertWritten(em, name, result);
      return result;
    }

    async nativeUpdate(entityName: any, where: any, data: any, options?: any): Promise<number> {
      const name = naming.className(this, entityName);
      const prop = guard ? model.propertyOf(name) : undefined;
      if (prop && data?.[prop] != null && data[prop] !== requireTenant(scopeOf(this.getContext(false)), name)) {
        throw TenantError.foreignTenantRow(name, 'moving rows to another tenant');
      }
      return super.nativeUpdate(entityName, where, data, options);
    }

    createQueryBuilder(entityName: any, alias?: any, type?: any, loggerContext?: any): any {
      const em = this.getContext(false);
      if (em !== this) {
        return em.createQueryBuilder(entityName, alias, type, loggerContext);
      }
      const qb = super.createQueryBuilder(entityName, alias, type, loggerContext);
      return guard ? naming.scopeQueryBuilder(qb, scopeOf(this as never), model) : qb;
    }

    setLoggerContext(context: Dictionary): void {
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
    const found = await em.getDriver().count(naming.driverEntityName(meta), { [meta.primaryKeys[0]!]: { $in: ids }, [prop]: tenantId }, {
      ctx: em.getTransactionContext(), loggerContext: em.loggerContext,
    });
    if (found < new Set(ids.map(String)).size) {
      entities.forEach(entity => em.getUnitOfWork().unsetIdentity(entity));
      throw TenantError.foreignTenantRow(name, 'an upsert meeting a row of another tenant');
    }
  }

  return GuardedEntityManager as unknown as T;
}

import { type ChangeSet, type EventSubscriber, type FlushEventArgs, type Dictionary, helper } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import { requireTenant, scopeOf } from './row-scope.js';
import type { TenantOwnedModel } from './tenant-owned-model.js';
import type { DriverEntityName } from './entity-metadata.js';

/**
 * Checks what a flush writes to tenant-owned entities, before anything is sent: new rows get the active
 * tenant (another tenant's id is refused); updates and deletes may only touch the tenant's rows: a row
 * loaded for another tenant is refused, and rows whose tenant the EntityManager does not know (references
 * from `getReference()`) are checked with one query per entity before the flush's transaction begins. The
 * tenant column cannot change afterwards (moving a row is refused too), so the check stays true.
 * With the guard off, new rows are still filled (the database checks them). The same on both majors but for how
 * the driver is told the entity (`driverEntityName`, from the major's adapter).
 */
export class RowFlushGuard implements EventSubscriber {
  readonly #model: TenantOwnedModel;
  readonly #guard: boolean;
  readonly #driverEntityName: DriverEntityName;

  constructor(model: TenantOwnedModel, guard: boolean, driverEntityName: DriverEntityName) {
    this.#model = model;
    this.#guard = guard;
    this.#driverEntityName = driverEntityName;
  }

  async onFlush({ em, uow }: FlushEventArgs): Promise<void> {
    const unknown = new Map<string, { meta: ChangeSet<any>['meta']; prop: string; ids: unknown[] }>();
    let tenantId: string | undefined;
    for (const cs of uow.getChangeSets()) {
      const className = cs.meta.className;
      const prop = this.#model.propertyOf(className);
      if (!prop) {
        continue;
      }
      tenantId = requireTenant(scopeOf(em), `flushing ${className}`);
      if (tenantId === undefined) {
        continue;
      }
      const entity = cs.entity as Dictionary;
      if (cs.type === 'create') {
        if (entity[prop] == null) {
          entity[prop] = tenantId;
          cs.payload[prop] = tenantId;
        } else if (this.#guard && entity[prop] !== tenantId) {
          throw TenantError.foreignTenantRow(className, 'a new row naming another tenant');
        }
        continue;
      }
      if (!this.#guard) {
        continue;
      }
      if (prop in cs.payload && cs.payload[prop] !== tenantId) {
        throw TenantError.foreignTenantRow(className, 'moving a row to another tenant');
      }
      const original = (cs.originalEntity as Dictionary | undefined)?.[prop];
      if (original === tenantId) {
        continue;
      }
      if (original != null) {
        throw TenantError.foreignTenantRow(className, 'a row loaded for another tenant');
      }
      const pending = unknown.get(className) ?? { meta: cs.meta, prop, ids: [] as unknown[] };
      pending.ids.push(helper(cs.entity as object).getPrimaryKey());
      unknown.set(className, pending);
    }
    for (const { meta, prop, ids } of unknown.values()) {
      if (meta.primaryKeys.length !== 1) {
        throw TenantError.unscopedQuery(`Writing ${meta.className} (composite primary key) by reference`);
      }
      const found = await em.getDriver().count(this.#driverEntityName(meta) as never, { [meta.primaryKeys[0]!]: { $in: ids }, [prop]: tenantId } as never, {
        ctx: em.getTransactionContext(), loggerContext: (em as unknown as { loggerContext?: Dictionary }).loggerContext,
      } as never);
      if (found < new Set(ids.map(String)).size) {
        throw TenantError.foreignTenantRow(meta.className, 'a reference to a row of another tenant (or to no row)');
      }
    }
  }
}

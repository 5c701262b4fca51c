import { ReferenceKind, Utils, type EntityMetadata, type EntityName, type MetadataStorage } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import { allMetadata, metadataByName } from './entity-metadata.js';

/** How the discovered model splits between the tenant databases and the shared one. */
export interface TenantModel {
  /** Tables of per-tenant entities (and of their pivot tables and single-table-inheritance hierarchies). */
  tenantTables: string[];
  /** Tables of every other entity. */
  sharedTables: string[];
  /** Some per-tenant entity references a shared one (so tenant connections need the shared file attached). */
  referencesShared: boolean;
}

/**
 * Splits the discovered metadata: adds the names of the per-tenant entities, of every entity sharing a
 * single-table-inheritance hierarchy with one (root and children) and of the pivot entities they own to
 * `tenantNames`, and turns off the foreign keys from tenant entities
 * to shared ones (SQLite cannot enforce a foreign key into another, attached, file).
 *
 * @throws TenantError `ERR_INVALID_OPTION` when a listed tenant entity was not discovered
 */
export function classifyModel(metadata: MetadataStorage, tenantEntities: EntityName<any>[], tenantNames: Set<string>): TenantModel {
  for (const entity of tenantEntities) {
    const name = Utils.className(entity);
    if (!metadataByName(metadata, name)) {
      throw TenantError.invalidOption('tenancy.entities', `${name} was not discovered by MikroORM`);
    }
    tenantNames.add(name);
  }
  const all = allMetadata(metadata);
  // Single table inheritance: one table for a root and all its descendants, so a hierarchy with any tenant
  // entity in it is all tenant (an abstract root of tenant children included).
  const tenantRoots = new Set(all.filter(m => tenantNames.has(m.className)).map(m => m.root.className));
  for (const meta of all) {
    if (tenantRoots.has(meta.root.className)) {
      tenantNames.add(meta.className);
    }
  }
  // Pivot tables of many-to-many relations owned by tenant entities live with them.
  for (const meta of all) {
    const owners = meta.relations.filter(p => p.kind === ReferenceKind.MANY_TO_ONE).map(p => p.type);
    if (meta.pivotTable && owners.some(o => tenantNames.has(o))) {
      tenantNames.add(meta.className);
    }
  }
  const tables = (filter: (m: EntityMetadata) => boolean) => all.filter(m => !m.embeddable && !m.virtual && m.tableName && filter(m)).map(m => m.tableName);
  let referencesShared = false;
  for (const meta of all.filter(m => tenantNames.has(m.className))) {
    for (const prop of meta.relations) {
      if (!tenantNames.has(prop.type) && metadataByName(metadata, prop.type)) {
        referencesShared = true;
        prop.createForeignKeyConstraint = false;
      }
    }
  }
  return {
    tenantTables: tables(m => tenantNames.has(m.className)),
    sharedTables: tables(m => !tenantNames.has(m.className)),
    referencesShared,
  };
}

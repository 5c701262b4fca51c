import { ReferenceKind, Utils, type EntityMetadata, type EntityName, type MetadataStorage, type Options } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import { allMetadata, metadataByName } from './entity-metadata.js';

/** How the discovered model splits between the tenant schemas and the shared side. */
export interface TenantModel {
  /** Tables of per-tenant entities (and of their pivot tables and single-table-inheritance hierarchies). */
  tenantTables: string[];
  /** Tables of every other entity. */
  sharedTables: string[];
  /** The same, named with their schema (`public.user`): what a tenant's schema tools must leave alone. */
  sharedQualifiedTables: string[];
  /** Every schema a shared entity lives in (the shared schema, and any a shared entity names itself). */
  sharedSchemas: string[];
}

/**
 * The shared ORM's options with the schema layout applied during discovery: every listed per-tenant entity,
 * and every entity of a single-table-inheritance hierarchy one of them is in, gets MikroORM's wildcard
 * schema (`'*'`) before its relations are resolved, so foreign keys between tenant tables name no schema.
 * The app's own `discovery.onMetadata` runs after.
 * @throws TenantError `ERR_INVALID_OPTION` (during discovery) when a per-tenant entity names a schema of its own
 */
export function withTenantSchemaLayout(options: Options, tenantEntities: readonly EntityName<any>[]): Options {
  const listed = new Set(tenantEntities.map(entity => Utils.className(entity)));
  const user = options.discovery?.onMetadata;
  // Every entity seen so far: a hierarchy's members may come in any order, so each call settles them all again.
  const seen = new Map<string, EntityMetadata>();
  const rootOf = (meta: EntityMetadata): EntityMetadata => {
    const base = meta.extends ? seen.get(Utils.className(meta.extends as EntityName<any>)) : undefined;
    if (!base || base === meta) {
      return meta;
    }
    const root = rootOf(base);
    return root.discriminatorColumn ? root : meta;
  };
  return {
    ...options,
    discovery: {
      ...options.discovery,
      onMetadata(meta, platform) {
        seen.set(meta.className, meta);
        const tenantRoots = new Set([...seen.values()].filter(m => listed.has(m.className)).map(rootOf));
        for (const member of seen.values()) {
          if (!tenantRoots.has(rootOf(member))) {
            continue;
          }
          if (member.schema !== undefined && member.schema !== '*') {
            throw TenantError.invalidOption('tenancy.entities',
              `${member.className} names the schema "${member.schema}": per-tenant entities live in each tenant's schema, remove its schema`);
          }
          member.schema = '*';
        }
        return user?.(meta, platform);
      },
    },
  };
}

/**
 * Splits the discovered metadata: adds the names of the per-tenant entities, of every entity sharing a
 * single-table-inheritance hierarchy with one and of the pivot entities they own to `tenantNames`; takes
 * the discovery-time wildcard schema off the per-tenant entities (they then live in whichever schema the
 * configuration that queries them names: a tenant's); pins
 * shared entities without a schema to `sharedSchema` (a tenant's configuration names the tenant's schema,
 * which must never capture them); and turns off foreign keys from tenant tables to shared ones (a tenant's
 * schema can be dropped or moved on its own, and the shared rows deleted without it, as with the SQLite strategy).
 *
 * @throws TenantError `ERR_INVALID_OPTION` when a listed tenant entity was not discovered, when an entity of a
 *   tenant hierarchy is not listed, or when a tenant table is named like a shared one (bare names in SQL would be ambiguous)
 */
export function classifyModel(metadata: MetadataStorage, tenantEntities: readonly EntityName<any>[], tenantNames: Set<string>, sharedSchema: string): TenantModel {
  for (const entity of tenantEntities) {
    const name = Utils.className(entity);
    if (!metadataByName(metadata, name)) {
      throw TenantError.invalidOption('tenancy.entities', `${name} was not discovered by MikroORM`);
    }
    tenantNames.add(name);
  }
  const all = allMetadata(metadata);
  const tenantRoots = new Set(all.filter(m => tenantNames.has(m.className)).map(m => m.root.className));
  for (const meta of all) {
    if (tenantRoots.has(meta.root.className)) {
      tenantNames.add(meta.className);
    }
  }
  for (const meta of all) {
    const owners = meta.relations.filter(p => p.kind === ReferenceKind.MANY_TO_ONE).map(p => p.type);
    if (meta.pivotTable && owners.some(o => tenantNames.has(o))) {
      tenantNames.add(meta.className);
    }
  }
  const sharedSchemas = new Set([sharedSchema]);
  for (const meta of all) {
    if (meta.embeddable) {
      continue;
    }
    if (tenantNames.has(meta.className)) {
      if (meta.pivotTable) {
        // MikroORM made it from its owner, which may be a shared entity: it lives with the tenant side.
        meta.schema = '*';
      }
      if (meta.schema !== '*') {
        throw TenantError.invalidOption('tenancy.entities',
          `${meta.className} shares a table or hierarchy with per-tenant entities: list it in tenancy.entities too`);
      }
      for (const prop of meta.relations) {
        if (!tenantNames.has(prop.type) && metadataByName(metadata, prop.type)) {
          prop.createForeignKeyConstraint = false;
        }
      }
    } else {
      meta.schema ??= sharedSchema;
      sharedSchemas.add(meta.schema);
    }
  }
  // '*' served discovery (foreign keys between tenant tables name no schema). From now on a per-tenant
  // entity names no schema, so MikroORM takes the schema of the configuration that queries it: a tenant's
  // own, everywhere alike (queries, the identity map's keys, the schema tools), as in a one-schema app.
  for (const meta of all) {
    if (tenantNames.has(meta.className)) {
      meta.schema = undefined;
    }
  }
  // MikroORM 7 may hold a relation's target as an object of its own (`prop.targetMeta`), which its joins
  // read the schema from: it takes the schema decided above.
  for (const meta of all) {
    for (const prop of Object.values(meta.properties)) {
      const target = prop.targetMeta;
      const decided = target && metadataByName(metadata, target.className);
      if (target && decided && decided !== target) {
        target.schema = decided.schema;
      }
    }
  }
  const tables = (filter: (m: EntityMetadata) => boolean) => all.filter(m => !m.embeddable && !m.virtual && m.tableName && filter(m)).map(m => m.tableName);
  const tenantTables = tables(m => tenantNames.has(m.className));
  const sharedTables = tables(m => !tenantNames.has(m.className) && m.schema === sharedSchema);
  const clash = tenantTables.find(table => sharedTables.includes(table));
  if (clash) {
    throw TenantError.invalidOption('tenancy.entities',
      `the per-tenant table "${clash}" has the name of a shared table in "${sharedSchema}": rename one of them (bare names in SQL would be ambiguous)`);
  }
  const shared = all.filter(m => !m.embeddable && !m.virtual && m.tableName && !tenantNames.has(m.className));
  return {
    tenantTables,
    sharedTables: shared.map(m => m.tableName),
    sharedQualifiedTables: shared.map(m => `${m.schema}.${m.tableName}`),
    sharedSchemas: [...sharedSchemas],
  };
}

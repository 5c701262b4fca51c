import { Utils, helper, type EntityMetadata, type EntityName, type MetadataStorage } from '@mikro-orm/core';
import { TenantError, primaryKeyTenantId, type EntityTenantId } from '@mikro-tenant/core';
import { metadataByName } from './entity-metadata.js';

/**
 * The metadata of the tenant entity: it must have been discovered and be a shared entity. Left
 * unchecked, an undiscovered one would silently disable deletion on tenant removal.
 * @throws TenantError `ERR_INVALID_OPTION` naming `tenancy.tenantEntity`
 */
export function tenantEntityMetadata(metadata: MetadataStorage, tenantEntity: EntityName<any> | undefined, tenantNames: Set<string>): EntityMetadata | undefined {
  if (tenantEntity === undefined) {
    return undefined;
  }
  const name = Utils.className(tenantEntity);
  const meta = metadataByName(metadata, name);
  if (!meta) {
    throw TenantError.invalidOption('tenancy.tenantEntity', `${name} was not discovered by MikroORM: list it in the shared ORM's entities`);
  }
  if (tenantNames.has(name)) {
    throw TenantError.invalidOption('tenancy.tenantEntity', `${name} is a per-tenant entity: the tenant entity's rows are shared`);
  }
  return meta;
}

/**
 * The one rule for which tenant an entity stands for: a row of the tenant entity (STI children
 * included) stands for `tenantIdOf(row)`, by default its primary key, and entities of other classes
 * for no tenant; without a tenant entity, any entity stands for its primary key.
 */
export function entityTenantIdRule(tenantMeta: EntityMetadata | undefined, tenantIdOf: ((entity: any) => unknown) | undefined): EntityTenantId {
  if (!tenantMeta) {
    return primaryKeyTenantId;
  }
  return entity => {
    const meta = helper(entity).__meta;
    if (meta.root.className !== tenantMeta.root.className) {
      throw TenantError.invalidTenantId(undefined, `a ${meta.className} entity does not stand for a tenant (only ${tenantMeta.className} rows do)`);
    }
    return tenantIdOf ? tenantIdOf(entity) : primaryKeyTenantId(entity);
  };
}

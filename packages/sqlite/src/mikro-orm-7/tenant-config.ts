/**
 * The MikroORM 7 configuration of tenant EntityManagers, derived from the shared ORM's without discovery.
 * What a tenant shares, copies or overrides, and why, is the table of `mikro-orm-6/tenant-config.ts`; this
 * file keeps it for 7, where a tenant's `onCreateConnection` is none (tenant handles get `tenancy.pragmas`) and its
 * `driverOptions` are empty (the app's may be a Kysely instance or dialect of the shared database).
 *
 * The layering (a `Configuration` object whose methods run on the shared one, one prototype child per tenant)
 * is `layerTenancyConfig()` of `@mikro-tenant/sql/mikro-orm-7`, shared with the schema-per-tenant strategy.
 * @module
 */
import type { Configuration, Constructor, EntityManager } from '@mikro-orm/core';
import type { AbstractSqlPlatform } from '@mikro-orm/sql';
import { bindTenantLayer, layerTenancyConfig } from '@mikro-tenant/sql/mikro-orm-7';
import type { TenantConfigInput } from '../orm-adapter.js';
import { releaseContextPrefix, reserveContextPrefix } from '@mikro-tenant/sql';

export { dropTenantCache, setTenantDriver } from '@mikro-tenant/sql/mikro-orm-7';

/**
 * Derives the tenancy's configuration from the shared ORM's (see the module comment) and reserves its
 * context-name prefix (`<contextName>:tenant`, unique among live tenancies). Release it with {@link releaseTenantConfig}.
 */
export function deriveTenantConfig(root: Configuration, input: TenantConfigInput & { entityManager: Constructor<EntityManager> }): Configuration {
  const prefix = reserveContextPrefix(root, root.get('contextName'));
  const generator = input.schemaGenerator ?? {};
  const initial: Record<string, unknown> = {
    dbName: input.dbName,
    migrations: input.migrations,
    schemaGenerator: { ...generator, skipTables: [...(generator.skipTables ?? []), ...input.sharedTables], disableForeignKeys: false },
    contextName: prefix,
    entityManager: input.entityManager,
    replicas: [],
    preferReadReplicas: false,
    // A tenant connection opens its own better-sqlite3 handle: never the app's Kysely instance or dialect.
    onCreateConnection: undefined,
    driverOptions: {},
  };
  return layerTenancyConfig(root, { own: initial, cachePrefix: prefix, platform: tenantPlatformPrototype(root.getPlatform() as AbstractSqlPlatform) });
}

/**
 * The configuration of one tenant (or, without `tenantId`, of an EntityManager bound to none): its own
 * platform and result cache over the tenancy's configuration. Set its driver with {@link setTenantDriver}.
 */
export function bindTenantConfig(tenancyConfig: Configuration, tenantId?: string): Configuration {
  return bindTenantLayer(tenancyConfig, tenantId, {});
}

/** Frees the tenancy's context-name prefix (when it closes, or its start fails). */
export function releaseTenantConfig(root: Configuration): void {
  releaseContextPrefix(root);
}

/**
 * The prototype of a tenancy's platforms: the shared platform, except that each tenant platform gets its own
 * schema helper on first use (most tenants never diff a schema, so none is made per open). MikroORM 7's
 * SQLite helper reads every attached database as a schema of its own; a tenant's schema is its file alone
 * (the shared database is attached to read shared rows, never to be diffed or changed by tenant tools).
 */
function tenantPlatformPrototype(root: AbstractSqlPlatform): AbstractSqlPlatform {
  const Base = root.getSchemaHelper()!.constructor as new (platform: AbstractSqlPlatform) => { getDatabaseList(...args: unknown[]): Promise<string[]> };
  class TenantSchemaHelper extends Base {
    override async getDatabaseList(): Promise<string[]> {
      return ['main'];
    }
  }
  const prototype = Object.create(root) as AbstractSqlPlatform;
  Object.defineProperty(prototype, 'schemaHelper', {
    configurable: true,
    get(this: AbstractSqlPlatform) {
      const helper = new TenantSchemaHelper(this);
      Object.defineProperty(this, 'schemaHelper', { value: helper, writable: true, configurable: true });
      return helper;
    },
  });
  return prototype;
}

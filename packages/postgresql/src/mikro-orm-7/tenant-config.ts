/**
 * The MikroORM 7 configuration of tenant EntityManagers, derived from the shared ORM's without discovery.
 * What a tenant shares, copies or overrides, and why, is the table of `mikro-orm-6/tenant-config.ts`; this
 * file keeps it for 7, where a tenant's `driverOptions` are empty (the app's may be a Kysely instance or
 * dialect of the shared database) and its connection hooks are none (its clients are the shared pool's).
 *
 * The layering (a `Configuration` object whose methods run on the shared one, one prototype child per tenant)
 * is `layerTenancyConfig()` of `@mikro-tenant/sql/mikro-orm-7`, shared with the file-per-tenant strategy; a
 * tenant's layer here also owns its schema and context name.
 * @module
 */
import type { Configuration, Constructor, EntityManager } from '@mikro-orm/core';
import type { AbstractSqlPlatform, SqlSchemaGenerator } from '@mikro-orm/sql';
import { TenantError } from '@mikro-tenant/core';
import { releaseContextPrefix, reserveContextPrefix } from '@mikro-tenant/sql';
import { bindTenantLayer, layerTenancyConfig, tenantLayerOf } from '@mikro-tenant/sql/mikro-orm-7';
import type { TenantConfigInput } from '../orm-adapter.js';
import { listTablesOnlyIn } from '../table-listing.js';

export { dropTenantCache, setTenantDriver } from '@mikro-tenant/sql/mikro-orm-7';

/** What a tenant's layer owns besides the shared part. */
interface TenantSchema {
  schema?: string;
  contextName?: string;
}

/** The context-name prefix of each tenancy's configuration. */
const prefixOf = new WeakMap<object, string>();

/**
 * Derives the tenancy's configuration from the shared ORM's and reserves its context-name prefix
 * (`<contextName>:tenant`, unique among live tenancies). Release it with {@link releaseTenantConfig}.
 */
export function deriveTenantConfig(root: Configuration, input: TenantConfigInput & { entityManager: Constructor<EntityManager> }): Configuration {
  const prefix = reserveContextPrefix(root, root.get('contextName'));
  const initial: Record<string, unknown> = {
    migrations: input.migrations,
    schemaGenerator: input.schemaGenerator,
    contextName: prefix,
    entityManager: input.entityManager,
    replicas: [],
    preferReadReplicas: false,
    driverOptions: {},
    onCreateConnection: undefined,
    onReserveConnection: undefined,
  };
  const config = layerTenancyConfig(root, {
    own: initial,
    cachePrefix: prefix,
    platform: tenantPlatformPrototype(root.getPlatform() as AbstractSqlPlatform),
    // The database is the shared one, which exists (no query to find out).
    prepareSchemaGenerator: (generator: SqlSchemaGenerator) => {
      generator.ensureDatabase = async () => false;
    },
  });
  // A tenant's layer owns its schema and context name: read through `this`, a tenant's configuration.
  const methods = config as unknown as Record<string, (this: Configuration, ...args: any[]) => any>;
  const { get, getSchema, getAll } = methods;
  methods.get = function (key: string, defaultValue?: unknown) {
    const tenant = tenantLayerOf<TenantSchema>(this);
    if (key === 'schema' && tenant?.schema !== undefined) {
      return tenant.schema;
    }
    if (key === 'contextName' && tenant?.contextName !== undefined) {
      return tenant.contextName;
    }
    return get!.call(this, key, defaultValue);
  };
  methods.getSchema = function (skipDefaultSchema?: boolean) {
    const tenant = tenantLayerOf<TenantSchema>(this);
    return tenant?.schema !== undefined ? tenant.schema : getSchema!.call(this, skipDefaultSchema);
  };
  methods.getAll = function () {
    const tenant = tenantLayerOf<TenantSchema>(this);
    return Object.assign(getAll!.call(this), tenant?.schema === undefined ? {} : { schema: tenant.schema, contextName: tenant.contextName });
  };
  prefixOf.set(config, prefix);
  return config;
}

/**
 * The configuration of one tenant (or, without `tenant`, of an EntityManager bound to none): its schema,
 * context name, platform and result cache over the tenancy's configuration. Set its driver with {@link setTenantDriver}.
 */
export function bindTenantConfig(tenancyConfig: Configuration, tenant?: { tenantId: string; schema: string }): Configuration {
  return bindTenantLayer<TenantSchema>(tenancyConfig, tenant?.tenantId, {
    schema: tenant?.schema,
    contextName: tenant && `${prefixOf.get(tenancyConfig)!}:${tenant.tenantId}`,
  });
}

/** Frees the tenancy's context-name prefix (when it closes, or its start fails). */
export function releaseTenantConfig(root: Configuration): void {
  releaseContextPrefix(root);
}


/**
 * The prototype of a tenancy's platforms: the shared platform, except that each tenant platform gets its own
 * schema helper on first use (most tenants never diff a schema, so none is made per open), which lists the
 * tables of the tenant's schema only.
 */
function tenantPlatformPrototype(root: AbstractSqlPlatform): AbstractSqlPlatform {
  const Helper = root.getSchemaHelper()!.constructor as new (platform: AbstractSqlPlatform) => { getListTablesSQL(): string };
  const prototype = Object.create(root) as AbstractSqlPlatform;
  Object.defineProperty(prototype, 'schemaHelper', {
    configurable: true,
    get(this: AbstractSqlPlatform & { config: Configuration }) {
      const helper = new Helper(this);
      // A tenant's schema tools read its own schema only.
      listTablesOnlyIn(helper, () => [this.config.get('schema') ?? '']);
      Object.defineProperty(this, 'schemaHelper', { value: helper, writable: true, configurable: true });
      return helper;
    },
  });
  return prototype;
}

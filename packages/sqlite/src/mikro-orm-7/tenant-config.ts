/**
 * The MikroORM 7 configuration of tenant EntityManagers, derived from the shared ORM's without discovery.
 * What a tenant shares, copies or overrides, and why, is the table of `mikro-orm-6/tenant-config.ts`; this
 * file keeps it for 7, where a tenant's `onCreateConnection` is none (tenant handles get `tenancy.pragmas`) and its
`driverOptions` are empty (the app's may be a Kysely instance or dialect of the shared database).
 *
 * MikroORM 7 keeps a configuration's state in `#private` fields, which only the object built by its
 * constructor has: a prototype child cannot call its methods. So the tenancy's configuration is an object
 * of the `Configuration` class (`instanceof` holds) whose every method runs on the shared configuration,
 * except those that read the tenancy's own options. One per tenant is a prototype child of it that owns
 * the tenant's platform, driver, result cache and schema generator.
 * @module
 */
import { Configuration, NullCacheAdapter, type CacheAdapter, type Constructor, type EntityManager, type Options } from '@mikro-orm/core';
import { SqlSchemaGenerator, type AbstractSqlPlatform } from '@mikro-orm/sql';
import { TenantResultCaches } from '@mikro-tenant/core';
import type { TenantConfigInput } from '../orm-adapter.js';
import { releaseContextPrefix, reserveContextPrefix } from '../context-name-prefixes.js';
import { forkGlobalContext } from '@mikro-tenant/sql';

/** Options a tenancy configuration sets itself; `set()` of any other option goes to the shared configuration. */
const OWN_OPTIONS = new Set<string>([
  'dbName', 'migrations', 'schemaGenerator', 'contextName', 'entityManager', 'replicas', 'preferReadReplicas',
  'onCreateConnection', 'driverOptions',
]);

const SCHEMA_GENERATOR = '@mikro-orm/schema-generator';

interface TenancyServices {
  readonly root: Configuration;
  readonly caches: TenantResultCaches;
  /** Prototype of the tenants' platforms. */
  readonly platform: AbstractSqlPlatform;
}

/** What one tenant's configuration owns. */
interface TenantServices {
  platform: AbstractSqlPlatform;
  driver?: unknown;
  resultCache: CacheAdapter;
  schemaGenerator?: SqlSchemaGenerator;
}

const servicesOf = new WeakMap<object, TenancyServices>();
const TENANT = Symbol('mikro-tenant.tenantServices');
const nullCache = new NullCacheAdapter();
/** MikroORM's default `resultCache.expiration` (ms). */
const DEFAULT_EXPIRATION = 1000;

type AnyMethod = (...args: unknown[]) => unknown;
type TenantConfig = Configuration & { [TENANT]: TenantServices };

/** Every method of MikroORM's `Configuration`, to run on the shared configuration. */
function configurationMethods(): string[] {
  const names = new Set<string>();
  for (let proto: object | null = Configuration.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;
      if (name !== 'constructor' && typeof descriptor.value === 'function') {
        names.add(name);
      }
    }
  }
  return [...names];
}

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
  const own: Record<string, unknown> = { ...initial };
  const derived = Object.create(Configuration.prototype) as Record<string, AnyMethod>;
  for (const name of configurationMethods()) {
    const method = (root as unknown as Record<string, AnyMethod>)[name]!;
    derived[name] = (...args: unknown[]) => method.apply(root, args);
  }
  derived.get = (key, defaultValue) => {
    const fork = forkGlobalContext();
    if (fork && key === 'allowGlobalContext') {
      return fork.value;
    }
    if (OWN_OPTIONS.has(key as string)) {
      return own[key as string] ?? defaultValue;
    }
    return root.get(key as keyof Options, defaultValue as never);
  };
  derived.getAll = () => Object.assign(Object.create(root.getAll()) as object, own);
  derived.set = (key, value) => {
    const fork = forkGlobalContext();
    if (fork && key === 'allowGlobalContext') {
      fork.value = value;
      return;
    }
    if (OWN_OPTIONS.has(key as string)) {
      own[key as string] = value;
    } else {
      root.set(key as keyof Options, value as never);
    }
  };
  derived.reset = key => {
    if (OWN_OPTIONS.has(key as string)) {
      own[key as string] = initial[key as string];
    } else {
      root.reset(key as keyof Options);
    }
  };
  // Read through `this`: a tenant's configuration (a prototype child) owns these.
  derived.getPlatform = function (this: TenantConfig) {
    return this[TENANT]?.platform ?? root.getPlatform();
  } as AnyMethod;
  derived.getDriver = function (this: TenantConfig) {
    return this[TENANT]?.driver ?? root.getDriver();
  } as AnyMethod;
  derived.getResultCacheAdapter = function (this: TenantConfig) {
    return this[TENANT]?.resultCache ?? nullCache;
  } as AnyMethod;
  derived.getExtension = function (this: TenantConfig, name) {
    // MikroORM 7's Migrator ensures the database through this extension: the tenant's, never the shared ORM's.
    const tenant = this[TENANT];
    if (name === SCHEMA_GENERATOR && tenant?.driver) {
      return tenant.schemaGenerator ??= new SqlSchemaGenerator(tenant.driver as never);
    }
    return root.getExtension(name as string);
  } as AnyMethod;
  const config = derived as unknown as Configuration;
  servicesOf.set(config, {
    root,
    caches: new TenantResultCaches(() => root.getResultCacheAdapter(), prefix, () => root.get('resultCache').expiration ?? DEFAULT_EXPIRATION),
    platform: tenantPlatformPrototype(root.getPlatform() as AbstractSqlPlatform),
  });
  return config;
}

/**
 * The configuration of one tenant (or, without `tenantId`, of an EntityManager bound to none): its own
 * platform and result cache over the tenancy's configuration. Set its driver with {@link setTenantDriver}.
 */
export function bindTenantConfig(tenancyConfig: Configuration, tenantId?: string): Configuration {
  const services = servicesOf.get(tenancyConfig)!;
  const config = Object.create(tenancyConfig) as TenantConfig;
  const platform = Object.create(services.platform) as AbstractSqlPlatform & { config: Configuration };
  platform.config = config;
  config[TENANT] = { platform, resultCache: tenantId === undefined ? nullCache : services.caches.forTenant(tenantId) };
  return config;
}

/** Makes `config.getDriver()` (and so the platform's schema helper and formulas) reach the tenant's own driver. */
export function setTenantDriver(config: Configuration, driver: unknown): void {
  (config as TenantConfig)[TENANT].driver = driver;
}

/** Removes a tenant's result-cache entries written by this process (when the tenant is deleted). */
export async function dropTenantCache(tenancyConfig: Configuration, tenantId: string): Promise<void> {
  await servicesOf.get(tenancyConfig)?.caches.drop(tenantId);
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

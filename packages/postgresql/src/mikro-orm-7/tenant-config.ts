/**
 * The MikroORM 7 configuration of tenant EntityManagers, derived from the shared ORM's without discovery.
 * What a tenant shares, copies or overrides, and why, is the table of `mikro-orm-6/tenant-config.ts`; this
 * file keeps it for 7, where a tenant's `driverOptions` are empty (the app's may be a Kysely instance or
 * dialect of the shared database) and its connection hooks are none (its clients are the shared pool's).
 *
 * MikroORM 7 keeps a configuration's state in `#private` fields, which only the object built by its
 * constructor has: a prototype child cannot call its methods. So the tenancy's configuration is an object
 * of the `Configuration` class (`instanceof` holds) whose every method runs on the shared configuration,
 * except those that read the tenancy's own options. One per tenant is a prototype child of it that owns
 * the tenant's schema, context name, platform, driver, result cache and schema generator.
 * @module
 */
import { Configuration, NullCacheAdapter, type CacheAdapter, type Constructor, type EntityManager, type Options } from '@mikro-orm/core';
import { SqlSchemaGenerator, type AbstractSqlPlatform } from '@mikro-orm/sql';
import { TenantError, TenantResultCaches } from '@mikro-tenant/core';
import type { TenantConfigInput } from '../orm-adapter.js';
import { listTablesOnlyIn } from '../table-listing.js';
import { forkGlobalContext } from '@mikro-tenant/sql';

/** Options a tenancy configuration sets itself; `set()` of any other option goes to the shared configuration. */
const OWN_OPTIONS = new Set<string>([
  'migrations', 'schemaGenerator', 'contextName', 'entityManager', 'replicas', 'preferReadReplicas',
  'driverOptions', 'onCreateConnection', 'onReserveConnection',
]);

const SCHEMA_GENERATOR = '@mikro-orm/schema-generator';

interface TenancyServices {
  readonly root: Configuration;
  readonly prefix: string;
  readonly caches: TenantResultCaches;
  /** Prototype of the tenants' platforms. */
  readonly platform: AbstractSqlPlatform;
}

/** What one tenant's configuration owns. */
interface TenantServices {
  schema?: string;
  contextName?: string;
  platform: AbstractSqlPlatform;
  driver?: unknown;
  resultCache: CacheAdapter;
  schemaGenerator?: SqlSchemaGenerator;
}

const servicesOf = new WeakMap<object, TenancyServices>();
/** Context-name prefixes of the tenancies alive in this process, by shared configuration (shared across copies of this module). */
const livePrefixes: Map<Configuration, string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('mikro-tenant.livePrefixes')] ??= new Map()) as Map<Configuration, string>;
const TENANT = Symbol('mikro-tenant.tenantServices');
const nullCache = new NullCacheAdapter();
/** MikroORM's default `resultCache.expiration` (ms). */
const DEFAULT_EXPIRATION = 1000;

type AnyMethod = (...args: unknown[]) => unknown;
type TenantConfig = Configuration & { [TENANT]?: TenantServices };

/** A shared `contextName` must never equal a tenant EntityManager's name. @throws TenantError `ERR_INVALID_OPTION` */
export function assertSharedContextName(contextName: unknown): void {
  if (contextName !== undefined && (typeof contextName !== 'string' || /:tenant(:|$)/.test(contextName))) {
    throw TenantError.invalidOption('contextName', 'a string without ":tenant" (names "<contextName>:tenant:<id>" belong to tenant EntityManagers)');
  }
}

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
 * Derives the tenancy's configuration from the shared ORM's and reserves its context-name prefix
 * (`<contextName>:tenant`, unique among live tenancies). Release it with {@link releaseTenantConfig}.
 */
export function deriveTenantConfig(root: Configuration, input: TenantConfigInput & { entityManager: Constructor<EntityManager> }): Configuration {
  const prefix = reservePrefix(root);
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
  const own: Record<string, unknown> = { ...initial };
  const derived = Object.create(Configuration.prototype) as Record<string, AnyMethod>;
  for (const name of configurationMethods()) {
    const method = (root as unknown as Record<string, AnyMethod>)[name]!;
    derived[name] = (...args: unknown[]) => method.apply(root, args);
  }
  derived.get = function (this: TenantConfig, key, defaultValue) {
    const fork = forkGlobalContext();
    if (fork && key === 'allowGlobalContext') {
      return fork.value;
    }
    const tenant = this[TENANT];
    if (key === 'schema' && tenant?.schema !== undefined) {
      return tenant.schema;
    }
    if (key === 'contextName' && tenant?.contextName !== undefined) {
      return tenant.contextName;
    }
    if (OWN_OPTIONS.has(key as string)) {
      return own[key as string] ?? defaultValue;
    }
    return root.get(key as keyof Options, defaultValue as never);
  } as AnyMethod;
  derived.getSchema = function (this: TenantConfig, skipDefaultSchema?: boolean) {
    const tenant = this[TENANT];
    return tenant?.schema !== undefined ? tenant.schema : root.getSchema(skipDefaultSchema as boolean | undefined);
  } as AnyMethod;
  derived.getAll = function (this: TenantConfig) {
    const tenant = this[TENANT];
    return Object.assign(Object.create(root.getAll()) as object, own, tenant?.schema === undefined ? {} : { schema: tenant.schema, contextName: tenant.contextName });
  } as AnyMethod;
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
    // MikroORM 7's Migrator ensures the database through this extension: the tenant's, never the shared ORM's,
    // and the database is the shared one, which exists (no query to find out).
    const tenant = this[TENANT];
    if (name === SCHEMA_GENERATOR && tenant?.driver) {
      if (!tenant.schemaGenerator) {
        tenant.schemaGenerator = new SqlSchemaGenerator(tenant.driver as never);
        tenant.schemaGenerator.ensureDatabase = async () => false;
      }
      return tenant.schemaGenerator;
    }
    return root.getExtension(name as string);
  } as AnyMethod;
  const config = derived as unknown as Configuration;
  servicesOf.set(config, {
    root,
    prefix,
    caches: new TenantResultCaches(() => root.getResultCacheAdapter(), prefix, () => root.get('resultCache').expiration ?? DEFAULT_EXPIRATION),
    platform: tenantPlatformPrototype(root.getPlatform() as AbstractSqlPlatform),
  });
  return config;
}

/**
 * The configuration of one tenant (or, without `tenant`, of an EntityManager bound to none): its schema,
 * context name, platform and result cache over the tenancy's configuration. Set its driver with {@link setTenantDriver}.
 */
export function bindTenantConfig(tenancyConfig: Configuration, tenant?: { tenantId: string; schema: string }): Configuration {
  const services = servicesOf.get(tenancyConfig)!;
  const config = Object.create(tenancyConfig) as TenantConfig;
  const platform = Object.create(services.platform) as AbstractSqlPlatform & { config: Configuration };
  platform.config = config;
  config[TENANT] = {
    schema: tenant?.schema,
    contextName: tenant && `${services.prefix}:${tenant.tenantId}`,
    platform,
    resultCache: tenant === undefined ? nullCache : services.caches.forTenant(tenant.tenantId),
  };
  return config;
}

/** Makes `config.getDriver()` (and so the platform's schema helper and formulas) reach the tenant's own driver. */
export function setTenantDriver(config: Configuration, driver: unknown): void {
  (config as TenantConfig)[TENANT]!.driver = driver;
}

/** Removes a tenant's result-cache entries written by this process (when the tenant is deleted). */
export async function dropTenantCache(tenancyConfig: Configuration, tenantId: string): Promise<void> {
  await servicesOf.get(tenancyConfig)?.caches.drop(tenantId);
}

/** Frees the tenancy's context-name prefix (when it closes, or its start fails). */
export function releaseTenantConfig(root: Configuration): void {
  livePrefixes.delete(root);
}

function reservePrefix(root: Configuration): string {
  const contextName = root.get('contextName');
  const taken = new Set(livePrefixes.values());
  let prefix = `${contextName}:tenant`;
  for (let n = 2; taken.has(prefix); n++) {
    prefix = `${contextName}#${n}:tenant`;
  }
  livePrefixes.set(root, prefix);
  return prefix;
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

/**
 * The layering of MikroORM 7 tenant configurations that the schema-per-tenant and file-per-tenant strategies
 * share. MikroORM 7 keeps a configuration's state in `#private` fields, which only the object built by its
 * constructor has: a prototype child cannot call its methods. So a tenancy's configuration is an object of
 * the `Configuration` class (`instanceof` holds) whose every method runs on the shared configuration, except
 * those that read the tenancy's own options; one per tenant is a prototype child of it that owns the
 * tenant's platform, driver, result cache and schema generator (and what the strategy adds, e.g. a schema).
 * @module
 */
import { Configuration, NullCacheAdapter, type CacheAdapter, type Options } from '@mikro-orm/core';
import { SqlSchemaGenerator, type AbstractSqlPlatform } from '@mikro-orm/sql';
import { TenantResultCaches } from '@mikro-tenant/core';
import { forkGlobalContext } from '../tenant-fork.js';

const SCHEMA_GENERATOR = '@mikro-orm/schema-generator';

/** What a tenancy's layered configuration is made of. */
export interface TenancyLayerInit {
  /** The options the tenancy's configuration sets itself, with their values; `set()` of any other goes to the shared configuration. */
  readonly own: Readonly<Record<string, unknown>>;
  /** The prefix of the tenancy's result-cache keys (its context-name prefix). */
  readonly cachePrefix: string;
  /** The prototype of the tenants' platforms. */
  readonly platform: AbstractSqlPlatform;
  /** Adjusts a tenant's schema generator once, when it is made. */
  prepareSchemaGenerator?(generator: SqlSchemaGenerator): void;
}

/** What one tenant's configuration owns (`E`: what the strategy adds). */
export type TenantLayer<E extends object = object> = E & {
  platform: AbstractSqlPlatform;
  driver?: unknown;
  resultCache: CacheAdapter;
  schemaGenerator?: SqlSchemaGenerator;
};

interface TenancyServices {
  readonly root: Configuration;
  readonly caches: TenantResultCaches;
  readonly platform: AbstractSqlPlatform;
}

const servicesOf = new WeakMap<object, TenancyServices>();
const TENANT = Symbol('mikro-tenant.tenantServices');
const nullCache = new NullCacheAdapter();
/** MikroORM's default `resultCache.expiration` (ms). */
const DEFAULT_EXPIRATION = 1000;

type AnyMethod = (...args: unknown[]) => unknown;
type TenantConfig = Configuration & { [TENANT]?: TenantLayer };

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
 * Derives a tenancy's configuration from the shared ORM's `root` (see the module comment). Its methods are
 * own properties: a strategy may wrap them (a tenant's are reached through `this`, see {@link tenantLayerOf}).
 */
export function layerTenancyConfig(root: Configuration, init: TenancyLayerInit): Configuration {
  const initial = init.own;
  const ownOptions = new Set(Object.keys(initial));
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
    if (ownOptions.has(key as string)) {
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
    if (ownOptions.has(key as string)) {
      own[key as string] = value;
    } else {
      root.set(key as keyof Options, value as never);
    }
  };
  derived.reset = key => {
    if (ownOptions.has(key as string)) {
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
      if (!tenant.schemaGenerator) {
        tenant.schemaGenerator = new SqlSchemaGenerator(tenant.driver as never);
        init.prepareSchemaGenerator?.(tenant.schemaGenerator);
      }
      return tenant.schemaGenerator;
    }
    return root.getExtension(name as string);
  } as AnyMethod;
  servicesOf.set(derived, {
    root,
    caches: new TenantResultCaches(() => root.getResultCacheAdapter(), init.cachePrefix, () => root.get('resultCache').expiration ?? DEFAULT_EXPIRATION),
    platform: init.platform,
  });
  return derived as unknown as Configuration;
}

/**
 * The configuration of one tenant (or, with `tenantId` undefined, of an EntityManager bound to none): its
 * own platform and result cache, and `extra`, over the tenancy's configuration. Set its driver with
 * {@link setTenantDriver}.
 */
export function bindTenantLayer<E extends object>(tenancyConfig: Configuration, tenantId: string | undefined, extra: E): Configuration {
  const services = servicesOf.get(tenancyConfig)!;
  const config = Object.create(tenancyConfig) as TenantConfig;
  const platform = Object.create(services.platform) as AbstractSqlPlatform & { config: Configuration };
  platform.config = config;
  config[TENANT] = { ...extra, platform, resultCache: tenantId === undefined ? nullCache : services.caches.forTenant(tenantId) };
  return config;
}

/** What the tenant of `config` owns, or `undefined` on the tenancy's configuration itself. */
export function tenantLayerOf<E extends object>(config: Configuration): TenantLayer<E> | undefined {
  return (config as TenantConfig)[TENANT] as TenantLayer<E> | undefined;
}

/** Makes `config.getDriver()` (and so the platform's schema helper and formulas) reach the tenant's own driver. */
export function setTenantDriver(config: Configuration, driver: unknown): void {
  (config as TenantConfig)[TENANT]!.driver = driver;
}

/** Removes a tenant's result-cache entries written by this process (when the tenant is deleted). */
export async function dropTenantCache(tenancyConfig: Configuration, tenantId: string): Promise<void> {
  await servicesOf.get(tenancyConfig)?.caches.drop(tenantId);
}

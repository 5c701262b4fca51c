/**
 * The MikroORM configuration of tenant EntityManagers, derived from the shared ORM's without discovery.
 *
 * Three layers, each a prototype child of the one above, so a tenant costs a few small objects:
 * the shared ORM's configuration; one tenancy configuration ({@link deriveTenantConfig}); one per tenant
 * ({@link bindTenantConfig}). What each option and service is, and why:
 *
 * | option or service | in a tenant configuration | why |
 * | --- | --- | --- |
 * | every option not named below (filters, subscribers, flushMode, loadStrategy, populateWhere, serialization, assign, batchSize, upsertManaged, timezone, entityRepository, allowGlobalContext, context, findOneOrFailHandler, implicitTransactions...) | shared, read live from the shared configuration | tenant entities behave as the app configured MikroORM, also after `config.set()` at run time |
 * | `set()`/`reset()` of those options | shared: write the shared configuration | in a plain app every EntityManager has the one configuration, so `em.config.set('debug', ...)` means the app's; `em.fork()` sets `allowGlobalContext` this way too |
 * | `debug`, `logger`, `loggerFactory`, `highlighter`, `colors`, and the logger | shared (one logger) | debug mode is one switch per app; tenant queries are told apart by their logger context (`tenant:<id>`). A copied `debug` once reset the shared logger on every tenant fork. |
 * | `dbName` | overridden: a path inside the tenant folder | MikroORM's schema tools want a name; a tenant connection opens its tenant's file, never this one |
 * | `migrations` | overridden | the tenant migrations (`tenancy.migrations`), else the app's |
 * | `schemaGenerator` | copied; `skipTables` = the app's + the shared tables; `disableForeignKeys: false` | tenant files hold only tenant tables; tables the app skips stay skipped |
 * | `contextName` | overridden: `<contextName>:tenant` for the tenancy, `<contextName>:tenant:<id>` for a tenant's EntityManagers | MikroORM resolves request and transaction contexts by name: unique per tenant and per tenancy, never the shared ORM's |
 * | `entityManager` | overridden: the app's class with the tenant behaviour mixed in | tenant EntityManagers are instances of the app's class |
 * | `replicas`, `preferReadReplicas` | overridden: none | a tenant is one file |
 * | `pool`, `driverOptions`, `clientUrl`, `host`... | unused | a tenant connection opens its own handle (`TenantSqliteConnection`) |
 * | comparator, hydrator, naming strategy, metadata provider (MikroORM's service cache) | shared | compiled code over the shared metadata; they hold no rows |
 * | metadata cache adapter | shared, never reached | only discovery uses it; tenants run none |
 * | result cache adapter | per tenant: the app's adapter under a key namespace per tenant | MikroORM's cache keys name no database (`TenantResultCaches`) |
 * | extensions (schema generator, migrator, seeder of the shared ORM) | shared, not used by tenant code | they are bound to the shared ORM; tenant tools are built on a tenant EntityManager (`new SqlSchemaGenerator(em)`, `new Migrator(em)`) |
 * | metadata, EventManager | shared | no discovery per tenant; subscribers see tenant events as in a plain app |
 * | driver | own, per tenant | the platform and schema helper reach the connection through `config.getDriver()` |
 * | platform | own, per tenant: a prototype child of the shared one (types, quoting, timezone shared) with its own configuration and, made on first use, its own schema helper | the schema helper reads the connection and the schema-generator options through its platform's configuration; the shared one reached the shared database |
 * @module
 */
import { Configuration, NullCacheAdapter, type CacheAdapter, type Constructor, type EntityManager, type MigrationsOptions, type Options } from '@mikro-orm/core';
import type { AbstractSqlPlatform } from '@mikro-orm/knex';
import { TenantError, TenantResultCaches } from '@mikro-tenant/core';
import { releaseContextPrefix, reserveContextPrefix } from '@mikro-tenant/sql';

/** What a tenancy decides for its tenant configuration; everything else comes from the shared ORM. */
export interface TenantConfigInput {
  /** A database name for MikroORM's schema tools (tenant connections open their own files). */
  dbName: string;
  /** Migrations of tenant databases. */
  migrations: MigrationsOptions;
  /** The app's schema-generator options, as given (before the shared ORM's skip the tenant tables). */
  schemaGenerator: Options['schemaGenerator'];
  /** Tables of the shared database: never created or dropped in tenant files. */
  sharedTables: string[];
  /** The EntityManager class of tenants (the app's, with the tenant behaviour mixed in). */
  entityManager: Constructor<EntityManager>;
}

/** Options a tenancy configuration sets itself; `set()` of any other option goes to the shared configuration. */
const OWN_OPTIONS = new Set<keyof Options>(['dbName', 'migrations', 'schemaGenerator', 'contextName', 'entityManager', 'replicas', 'preferReadReplicas']);

interface TenancyServices {
  readonly root: Configuration;
  readonly prefix: string;
  readonly caches: TenantResultCaches;
  /** Prototype of the tenants' platforms. */
  readonly platform: AbstractSqlPlatform;
}

const servicesOf = new WeakMap<Configuration, TenancyServices>();
const RESULT_CACHE = Symbol('mikro-tenant.resultCache');
const nullCache = new NullCacheAdapter();

/** The members of MikroORM's `Configuration` a derivation sets (some are private in its typings). */
interface Internals {
  options: Options;
  platform: AbstractSqlPlatform;
  driver: unknown;
  [RESULT_CACHE]?: CacheAdapter;
  set(key: keyof Options, value: unknown): void;
  reset(key: keyof Options): void;
  sync(): void;
  getResultCacheAdapter(): CacheAdapter;
}

const internals = (config: Configuration) => config as unknown as Internals;

/**
 * Derives the tenancy's configuration from the shared ORM's (see the table above). Reserves a context-name
 * prefix unique among the live tenancies of this process: `<contextName>:tenant`, or `<contextName>#<n>:tenant`
 * when another live tenancy has the same `contextName`. Release it with {@link releaseTenantConfig}.
 */
export function deriveTenantConfig(root: Configuration, input: TenantConfigInput): Configuration {
  const prefix = reserveContextPrefix(root, root.get('contextName'));
  const rootOptions = internals(root).options;
  const generator = input.schemaGenerator ?? {};
  const own: Partial<Options> = {
    dbName: input.dbName,
    migrations: input.migrations,
    schemaGenerator: { ...generator, skipTables: [...(generator.skipTables ?? []), ...input.sharedTables], disableForeignKeys: false },
    contextName: prefix,
    entityManager: input.entityManager as Options['entityManager'],
    replicas: [],
    preferReadReplicas: false,
  };
  const derived = Object.create(root) as Internals;
  derived.options = Object.assign(Object.create(rootOptions) as Options, own);
  derived.set = function set(this: Internals, key, value) {
    if (OWN_OPTIONS.has(key)) {
      (this.options as Record<string, unknown>)[key] = value;
      this.sync();
    } else if (key === 'allowGlobalContext') {
      // em.fork() sets it twice per fork; MikroORM's set() then re-applies colors, tsNode and the debug mode
      // (an environment variable write each time), none of which this option changes.
      (internals(root).options as Record<string, unknown>)[key] = value;
    } else {
      root.set(key, value as never);
    }
  };
  derived.reset = function reset(this: Internals, key) {
    if (OWN_OPTIONS.has(key)) {
      (this.options as Record<string, unknown>)[key] = Configuration.DEFAULTS[key as keyof typeof Configuration.DEFAULTS];
    } else {
      root.reset(key);
    }
  };
  derived.getResultCacheAdapter = function getResultCacheAdapter(this: Internals) {
    return this[RESULT_CACHE] ?? nullCache;
  };
  const config = derived as unknown as Configuration;
  servicesOf.set(config, {
    root,
    prefix,
    caches: new TenantResultCaches(() => root.getResultCacheAdapter(), prefix, () => root.get('resultCache').expiration ?? Configuration.DEFAULTS.resultCache.expiration!),
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
  const config = Object.create(tenancyConfig) as Internals;
  const platform = Object.create(services.platform) as AbstractSqlPlatform & { config: Configuration };
  platform.config = config as unknown as Configuration;
  config.platform = platform;
  config[RESULT_CACHE] = tenantId === undefined ? undefined : services.caches.forTenant(tenantId);
  return config as unknown as Configuration;
}

/** Makes `config.getDriver()` (and so the platform's schema helper) reach the tenant's own driver. */
export function setTenantDriver(config: Configuration, driver: unknown): void {
  internals(config).driver = driver;
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
 * schema helper on first use (most tenants never diff a schema, so none is made per open).
 */
function tenantPlatformPrototype(root: AbstractSqlPlatform): AbstractSqlPlatform {
  const Helper = root.getSchemaHelper()!.constructor as new (platform: AbstractSqlPlatform) => unknown;
  const prototype = Object.create(root) as AbstractSqlPlatform;
  Object.defineProperty(prototype, 'schemaHelper', {
    configurable: true,
    get(this: AbstractSqlPlatform) {
      const helper = new Helper(this);
      Object.defineProperty(this, 'schemaHelper', { value: helper, writable: true, configurable: true });
      return helper;
    },
  });
  return prototype;
}

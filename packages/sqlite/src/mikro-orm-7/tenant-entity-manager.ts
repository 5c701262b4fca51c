/**
 * MikroORM 7's tenant EntityManagers: the app's `entityManager` class with the tenant behaviour mixed in
 * (name, tenant id, and for `tenancy.em` the resolution to the active tenant), and the factories that bind
 * a driver and EntityManager to one tenant over the tenancy's derived configuration (`tenant-config.ts`).
 * The mixin itself is `@mikro-tenant/sql`'s `tenantEntityManagerClasses` (one for every SQL strategy and major).
 * @module
 */
import { type Configuration, type EventManager, type MetadataStorage } from '@mikro-orm/core';
import { SqlEntityManager } from '@mikro-orm/sql';
import { tenantEntityManagerClasses } from '@mikro-tenant/sql';
import type { TenantBinding, TenantConfigInput, TenantEntityManagerOf } from '../orm-adapter.js';
import { TENANT_CONTEXT_ENTITY_MANAGER, TENANT_ENTITY_MANAGER } from '../tenant-entity-manager.js';
import { bindTenantConfig, deriveTenantConfig as deriveConfig, setTenantDriver } from './tenant-config.js';
import { TenantSqliteDriver } from './tenant-driver.js';

/** An EntityManager of one tenant (an instance of the app's `entityManager` class); forks keep the tenant. */
export type TenantEntityManager = TenantEntityManagerOf<SqlEntityManager<TenantSqliteDriver>>;

type EntityManagerArgs = [config: Configuration, driver: TenantSqliteDriver, metadata: MetadataStorage, useContext?: boolean, eventManager?: EventManager];
type TenantEntityManagerClass = new (...args: EntityManagerArgs) => TenantEntityManager;
type SqlEntityManagerClass = new (...args: any[]) => SqlEntityManager<any>;

/** Tenant EntityManagers are instances of the app's `entityManager` class with the tenant behaviour mixed in. */
const classes = tenantEntityManagerClasses(SqlEntityManager as never, { tenantBrand: TENANT_ENTITY_MANAGER, contextBrand: TENANT_CONTEXT_ENTITY_MANAGER, nameOf: args => (args[1] as TenantSqliteDriver).contextName });

/**
 * Creates the context-resolving EntityManager (bound to no tenant; its own driver refuses to query).
 * @param assertUsable called first on every use: throws once the tenancy is closed
 */
export function createContextEntityManager(
  tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, assertUsable?: () => void,
): TenantEntityManager {
  const driver = createTenantDriver(tenancyConfig, metadata);
  const ContextClass = (classes.contextClassOf(tenancyConfig.get('entityManager')) ?? classes.over().context) as unknown as TenantEntityManagerClass;
  const em = new ContextClass(driver.config, driver, metadata, true, eventManager);
  (em as { assertUsable?: () => void }).assertUsable = assertUsable;
  return em;
}

/** Creates a tenant's driver (not connected yet) and its root EntityManager; unbound, it can only generate SQL. */
export function createTenantEntityManager(tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, binding?: TenantBinding): TenantEntityManager {
  const driver = createTenantDriver(tenancyConfig, metadata, binding);
  const EntityManagerClass = driver.config.get('entityManager') as unknown as TenantEntityManagerClass;
  const em = new EntityManagerClass(driver.config, driver, metadata, false, eventManager);
  if (binding) {
    // Forks inherit it: every query this tenant runs is logged as `[query] (tenant:<id>) ...`, and custom
    // loggers get `tenantId` in their context.
    (em as unknown as { loggerContext: Record<string, unknown> }).loggerContext = { label: `tenant:${binding.tenantId}`, tenantId: binding.tenantId };
  }
  return em;
}

function createTenantDriver(tenancyConfig: Configuration, metadata: MetadataStorage, binding?: TenantBinding): TenantSqliteDriver {
  const config = bindTenantConfig(tenancyConfig, binding?.tenantId);
  const driver = new TenantSqliteDriver(config);
  setTenantDriver(config, driver);
  if (binding) {
    driver.getConnection().bind(binding);
  }
  driver.setMetadata(metadata);
  return driver;
}

/**
 * The tenancy's configuration, derived from the shared ORM's (`tenant-config.ts`), with tenant
 * EntityManagers of the app's `entityManager` class.
 */
export function deriveTenantConfig(root: Configuration, input: TenantConfigInput): Configuration {
  const Base = (root.get('entityManager') ?? SqlEntityManager) as SqlEntityManagerClass;
  return deriveConfig(root, { ...input, entityManager: classes.over(Base as never).em as never });
}

/**
 * Tenant EntityManagers: the app's `entityManager` class with the tenant behaviour mixed in (tenant id,
 * and for `tenancy.em` the resolution to the active tenant), and the factories that bind a driver and
 * EntityManager to one tenant's schema over the tenancy's derived configuration (`tenant-config.ts`).
 * The mixin itself is `@mikro-tenant/sql`'s `tenantEntityManagerClasses` (one for every SQL strategy and major).
 * @module
 */
import { type Configuration, type EventManager, type MetadataStorage } from '@mikro-orm/core';
import { SqlEntityManager } from '@mikro-orm/knex';
import { tenantEntityManagerClasses } from '@mikro-tenant/sql';
import { bindTenantConfig, deriveTenantConfig as deriveConfig, setTenantDriver, type TenantConfigInput } from './tenant-config.js';
import type { SqlOnlyBinding, TenantSchemaBinding } from '../orm-adapter.js';
import { TENANT_CONTEXT_ENTITY_MANAGER, TENANT_ENTITY_MANAGER } from '../tenant-entity-manager.js';
import { TenantPgDriver } from './tenant-pg-driver.js';

/** An EntityManager of one tenant (an instance of the app's `entityManager` class); forks keep the tenant. */
export interface TenantEntityManager extends SqlEntityManager<TenantPgDriver> {
  /** Canonical id of the tenant this EntityManager belongs to. */
  readonly tenantId: string | undefined;
}

/**
 * The EntityManager exposed as `tenancy.em`: every call resolves to the active tenant's fork (or its
 * open transaction, or the fork `RequestContext.create()` made of it) and throws `ERR_NO_TENANT_CONTEXT`
 * outside a tenant scope. It never falls back to another schema.
 */
export interface TenantContextEntityManager extends TenantEntityManager {}

type EntityManagerArgs = [config: Configuration, driver: TenantPgDriver, metadata: MetadataStorage, useContext?: boolean, eventManager?: EventManager];
type TenantEntityManagerClass = new (...args: EntityManagerArgs) => TenantEntityManager;
type SqlEntityManagerClass = new (...args: any[]) => SqlEntityManager<any>;

/** Tenant EntityManagers are instances of the app's `entityManager` class with the tenant behaviour mixed in. */
const classes = tenantEntityManagerClasses(SqlEntityManager as never, { tenantBrand: TENANT_ENTITY_MANAGER, contextBrand: TENANT_CONTEXT_ENTITY_MANAGER });

/**
 * Creates the context-resolving EntityManager (bound to no tenant; its own driver refuses to query).
 * @param assertUsable called first on every use: throws once the tenancy is closed
 */
export function createContextEntityManager(
  tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, assertUsable?: () => void,
): TenantContextEntityManager {
  const driver = createTenantDriver(tenancyConfig, metadata);
  const ContextClass = (classes.contextClassOf(tenancyConfig.get('entityManager')) ?? classes.over().context) as unknown as TenantEntityManagerClass;
  const em = new ContextClass(driver.config, driver, metadata, true, eventManager) as TenantContextEntityManager;
  (em as { assertUsable?: () => void }).assertUsable = assertUsable;
  return em;
}

/**
 * Creates a tenant's driver and its root EntityManager. With a {@link SqlOnlyBinding} it builds SQL for a
 * schema with the shared knex and runs none (the tenancy's schema tools for DDL).
 */
export function createTenantEntityManager(
  tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, binding: TenantSchemaBinding | SqlOnlyBinding,
): TenantEntityManager {
  const bound = 'tenantId' in binding ? binding : undefined;
  const driver = createTenantDriver(tenancyConfig, metadata, binding);
  if (!bound) {
    driver.getConnection().buildSqlOnly(binding.shared);
  }
  const EntityManagerClass = driver.config.get('entityManager') as unknown as TenantEntityManagerClass;
  const em = new EntityManagerClass(driver.config, driver, metadata, false, eventManager);
  if (bound) {
    // Forks inherit it: every query this tenant runs is logged as `[query] (tenant:<id>) ...`, and custom
    // loggers get `tenantId` in their context.
    (em as unknown as { loggerContext: Record<string, unknown> }).loggerContext = { label: `tenant:${bound.tenantId}`, tenantId: bound.tenantId };
  }
  return em;
}

function createTenantDriver(tenancyConfig: Configuration, metadata: MetadataStorage, binding?: TenantSchemaBinding | SqlOnlyBinding): TenantPgDriver {
  const bound = binding && 'tenantId' in binding ? binding : undefined;
  const config = bindTenantConfig(tenancyConfig, binding && { tenantId: bound?.tenantId ?? '(sql)', schema: binding.schema });
  const driver = new TenantPgDriver(config);
  setTenantDriver(config, driver);
  if (bound) {
    driver.getConnection().bind(bound);
  }
  driver.setMetadata(metadata);
  return driver;
}

/**
 * The tenancy's configuration, derived from the shared ORM's (what is shared, copied or overridden, and
 * why: `tenant-config.ts`), with tenant EntityManagers of the app's `entityManager` class.
 */
export function deriveTenantConfig(root: Configuration, input: Omit<TenantConfigInput, 'entityManager'>): Configuration {
  const Base = (root.get('entityManager') ?? SqlEntityManager) as SqlEntityManagerClass;
  return deriveConfig(root, { ...input, entityManager: classes.over(Base as never).em as never });
}

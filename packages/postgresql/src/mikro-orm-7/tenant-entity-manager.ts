/**
 * MikroORM 7's tenant EntityManagers: the app's `entityManager` class with the tenant behaviour mixed in
 * (name, tenant id, and for `tenancy.em` the resolution to the active tenant), and the factories that bind
 * a driver and EntityManager to one tenant's schema over the tenancy's derived configuration (`tenant-config.ts`).
 * @module
 */
import { TransactionContext, type Configuration, type ConnectionType, type EventManager, type ForkOptions, type MetadataStorage } from '@mikro-orm/core';
import { SqlEntityManager } from '@mikro-orm/sql';
import { currentTenantScope, requireTenantScope } from '@mikro-tenant/core';
import type { SqlOnlyBinding, TenantConfigInput, TenantSchemaBinding } from '../orm-adapter.js';
import { TENANT_CONTEXT_ENTITY_MANAGER, TENANT_ENTITY_MANAGER, type TenantEntityManager as TenantEntityManagerOf } from '../tenant-entity-manager.js';
import { bindTenantConfig, deriveTenantConfig as deriveConfig, setTenantDriver } from './tenant-config.js';
import { tenantFork } from './tenant-fork.js';
import { TenantPgDriver } from './tenant-pg-driver.js';

/** An EntityManager of one tenant (an instance of the app's `entityManager` class); forks keep the tenant. */
export type TenantEntityManager = TenantEntityManagerOf<SqlEntityManager<TenantPgDriver>>;

type EntityManagerArgs = [config: Configuration, driver: TenantPgDriver, metadata: MetadataStorage, useContext?: boolean, eventManager?: EventManager];
type TenantEntityManagerClass = new (...args: EntityManagerArgs) => TenantEntityManager;
type SqlEntityManagerClass = new (...args: any[]) => SqlEntityManager<any>;

const tenantClasses = new WeakMap<SqlEntityManagerClass, { em: TenantEntityManagerClass; context: TenantEntityManagerClass }>();
const contextClassOf = new WeakMap<TenantEntityManagerClass, TenantEntityManagerClass>();

/**
 * The tenant EntityManager classes over an app's `entityManager` class (made once per class): tenant
 * EntityManagers are instances of the app's class with the tenant behaviour mixed in.
 */
function tenantEntityManagerClasses(Base: SqlEntityManagerClass = SqlEntityManager): { em: TenantEntityManagerClass; context: TenantEntityManagerClass } {
  let classes = tenantClasses.get(Base);
  if (classes) {
    return classes;
  }
  class TenantEm extends Base {
    constructor(...args: any[]) {
      super(...args);
      (this as { name: string }).name = (args[0] as Configuration).get('contextName');
    }

    get tenantId(): string | undefined {
      return (this.getDriver() as TenantPgDriver).getConnection().binding?.tenantId;
    }

    // The tenant label is copied and the configuration is not written (tenant-fork.ts): the same fork, cheaper.
    override fork(options: ForkOptions = {}): any {
      return tenantFork(this as any, options, o => super.fork(o), TENANT_CONTEXT_ENTITY_MANAGER in this);
    }
  }
  Object.defineProperty(TenantEm.prototype, TENANT_ENTITY_MANAGER, { value: true });

  class TenantContextEm extends TenantEm {
    /** False while MikroORM's constructor runs (it builds its helpers from this EntityManager). */
    declare private armed?: boolean;
    /** Throws once the tenancy is closed (`ERR_TENANCY_CLOSED`), inside a tenant scope or not. */
    declare assertUsable?: () => void;

    constructor(...args: any[]) {
      super(...args);
      // The name follows the active tenant, so `RequestContext.create(tenancy.em, fn)` stores its fork under
      // the tenant's name, where getContext() finds it. (MikroORM declares `name` as a field: set it per instance.)
      const unboundName = this.name;
      Object.defineProperty(this, 'name', {
        configurable: true,
        get: () => currentTenantScope<TenantEntityManager>()?.em.name ?? unboundName,
      });
      this.armed = true;
    }

    override getContext(_validate = true): this {
      if (!this.armed) {
        return this;
      }
      this.assertUsable?.();
      const scope = requireTenantScope<TenantEntityManager>();
      const name = scope.em.name;
      const transaction = TransactionContext.getEntityManager(name);
      if (transaction) {
        return transaction as this;
      }
      // The request context (`RequestContext.create(tenancy.em, fn)`), through the app's `context` option; an
      // EntityManager of another name (a `context` that ignores the name) is never taken for the tenant's.
      const requested = this.config.get('context')(name);
      return (requested?.name === name ? requested : scope.em) as this;
    }

    // Outside a scope these return the unbound driver/connection, whose every query throws ERR_NO_TENANT_CONTEXT.
    override getDriver(): any {
      if (this.armed) {
        this.assertUsable?.();
      }
      return currentTenantScope() ? this.getContext().getDriver() : super.getDriver();
    }

    override getConnection(type?: ConnectionType): any {
      if (this.armed) {
        this.assertUsable?.();
      }
      return currentTenantScope() ? this.getContext().getConnection(type) : super.getConnection(type);
    }
  }
  Object.defineProperty(TenantContextEm.prototype, TENANT_CONTEXT_ENTITY_MANAGER, { value: true });
  classes = { em: TenantEm as unknown as TenantEntityManagerClass, context: TenantContextEm as unknown as TenantEntityManagerClass };
  tenantClasses.set(Base, classes);
  contextClassOf.set(classes.em, classes.context);
  return classes;
}

const defaultClasses = tenantEntityManagerClasses();

/**
 * Creates the context-resolving EntityManager (bound to no tenant; its own driver refuses to query).
 * @param assertUsable called first on every use: throws once the tenancy is closed
 */
export function createContextEntityManager(
  tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, assertUsable?: () => void,
): TenantEntityManager {
  const driver = createTenantDriver(tenancyConfig, metadata);
  const ContextClass = contextClassOf.get(tenancyConfig.get('entityManager') as unknown as TenantEntityManagerClass) ?? defaultClasses.context;
  const em = new ContextClass(driver.config, driver, metadata, true, eventManager);
  (em as { assertUsable?: () => void }).assertUsable = assertUsable;
  return em;
}

/**
 * Creates a tenant's driver and its root EntityManager. With a {@link SqlOnlyBinding} it builds SQL for a
 * schema and runs none (the tenancy's schema tools for DDL).
 */
export function createTenantEntityManager(
  tenancyConfig: Configuration, metadata: MetadataStorage, eventManager: EventManager, binding: TenantSchemaBinding | SqlOnlyBinding,
): TenantEntityManager {
  const bound = 'tenantId' in binding ? binding : undefined;
  const driver = createTenantDriver(tenancyConfig, metadata, binding);
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
 * The tenancy's configuration, derived from the shared ORM's (`tenant-config.ts`), with tenant
 * EntityManagers of the app's `entityManager` class.
 */
export function deriveTenantConfig(root: Configuration, input: TenantConfigInput): Configuration {
  const Base = (root.get('entityManager') ?? SqlEntityManager) as SqlEntityManagerClass;
  return deriveConfig(root, { ...input, entityManager: tenantEntityManagerClasses(Base).em as never });
}

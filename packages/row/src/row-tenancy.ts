import { MikroORM, Utils, type EntityMetadata, type Options, type Platform } from '@mikro-orm/core';
import {
  AbstractTenancy, DeferredTenantRegistry, SqlTenantRegistry, TenantDeletionSubscriber, TenantError, resolveTenantTransactionsInContext,
} from '@mikro-tenant/core';
import { RowAdmin } from './admin/row-admin.js';
import { entityTenantIdRule, tenantEntityMetadata } from './entity-tenant-id.js';
import { RowFlushGuard } from './flush-guard.js';
import { loadOrmAdapter } from './orm-adapter.js';
import { TenantRowsDeletion } from './tenant-rows-deletion.js';
import { resolveRowTenancyOptions, type ResolvedRowTenancyOptions, type RowTenancyConfig } from './options.js';
import { unscopedLoggerContext } from './row-scope.js';
import { rowSecurityStatements } from './row-security-sql.js';
import { RowStrategy, type RowReconcileReport } from './row-strategy.js';
import type { SqlConnection, SqlEntityManager } from './sql-entity-manager.js';
import { TenantIncarnations } from './tenant-incarnations.js';
import { TenantOwnedModel } from './tenant-owned-model.js';

/** The ORM of a row tenancy: a MikroORM on a SQL driver whose EntityManager is a `SqlEntityManager`. */
export type RowORM = MikroORM<any, SqlEntityManager>;

interface Init {
  orm: RowORM; options: ResolvedRowTenancyOptions; model: TenantOwnedModel; registry: SqlTenantRegistry; strategy: RowStrategy;
  tenantMeta?: EntityMetadata; rowLevelSecurity: boolean; makeContextEm: (check: () => void) => SqlEntityManager;
}

/**
 * Row-level tenancy: every tenant in the same tables, told apart by a tenant column, behind the same API as
 * the other strategies (core's `AbstractTenancy` over {@link RowStrategy}). The column is filled from the
 * active tenant and every way to a tenant-owned entity is limited to it or refused (the ORM-level guard);
 * on PostgreSQL the database enforces it too (row level security, see {@link rowSecuritySql}).
 *
 * @example
 * const tenancy = await RowTenancy.init({ driver: PostgreSqlDriver, clientUrl, entities: [User, Note], tenancy: { entities: [Note] } });
 * await tenancy.run('acme', async em => em.find(Note, {}));
 */
export class RowTenancy extends AbstractTenancy<SqlEntityManager, RowReconcileReport> {
  /** The shared MikroORM instance; inside a tenant scope its EntityManager is the tenant's. */
  declare readonly orm: RowORM;
  /** The resolved tenant options. */
  readonly options: ResolvedRowTenancyOptions;
  /** The database enforces the tenant itself (PostgreSQL row level security is on). */
  readonly rowLevelSecurity: boolean;
  readonly #model: TenantOwnedModel;
  #admin?: RowAdmin;

  private constructor(init: Init) {
    super({
      orm: init.orm as never,
      strategy: init.strategy,
      // Registry rows are written when tenants are registered: nothing is ever queued.
      registry: new DeferredTenantRegistry(init.registry, () => undefined),
      contextEntityManager: init.makeContextEm,
      entityTenantId: entityTenantIdRule(init.tenantMeta, init.options.tenantIdOf),
      maxOpen: init.options.maxOpen,
      autoCreate: init.options.autoCreate,
      deleteGraceMs: init.options.deleteGraceMs,
      warn: init.options.warn,
      // Events and spans of the lifecycle; no quota (tenants share tables) and no per-tenant statement timing yet.
      operating: init.options,
    });
    this.options = init.options;
    this.rowLevelSecurity = init.rowLevelSecurity;
    this.#model = init.model;
  }

  /**
   * Starts MikroORM with the tenant column on the tenant-owned entities, the guard, and (on PostgreSQL) the
   * tenant told to the database with each statement; creates the registry table. Options are checked first.
   * @throws TenantError `ERR_INVALID_OPTION`
   */
  static async init(config: RowTenancyConfig): Promise<RowTenancy> {
    const { tenancy, ...ormOptions } = config;
    const options = resolveRowTenancyOptions(tenancy);
    const model = new TenantOwnedModel(options.entities, options.property);
    const entities = [...(ormOptions.entities ?? [])];
    for (const entity of options.entities) {
      if (!entities.includes(entity as never)) {
        entities.push(entity as never);
      }
    }
    const adapter = await loadOrmAdapter();
    const Base = adapter.sqlEntityManagerBase(ormOptions.entityManager);
    // Settled once the platform is known; the classes read it per call.
    const settings = { model, guard: options.guard, databaseEnforces: false };
    const discovery = ormOptions.discovery ?? {};
    const layout: Options = {
      ...ormOptions,
      entities,
      // The registry table is not an entity: keep schema updates from dropping it.
      schemaGenerator: { ...ormOptions.schemaGenerator, skipTables: [...(ormOptions.schemaGenerator?.skipTables ?? []), options.registryTable] },
      entityManager: adapter.rowEntityManagerClass(Base, settings) as never,
      subscribers: [...(ormOptions.subscribers ?? []), new RowFlushGuard(model, options.guard, adapter.driverEntityName)],
      discovery: {
        ...discovery,
        onMetadata: async (meta, platform) => {
          model.onMetadata(meta);
          await discovery.onMetadata?.(meta, platform);
        },
      },
    };
    const orm = await MikroORM.init(layout) as unknown as RowORM;
    try {
      const postgres = isPostgres(orm.em.getPlatform());
      const rowLevelSecurity = options.rowLevelSecurity ?? postgres;
      if (rowLevelSecurity && !postgres) {
        throw TenantError.invalidOption('tenancy.rowLevelSecurity', 'row level security needs PostgreSQL; on this database the ORM-level guard holds the line');
      }
      settings.databaseEnforces = rowLevelSecurity;
      model.bind(orm.getMetadata());
      const tenantMeta = tenantEntityMetadata(orm.getMetadata(), options.tenantEntity, new Set(options.entities.map(e => Utils.className(e))));
      const incarnations = new TenantIncarnations();
      if (rowLevelSecurity) {
        adapter.bindScopePerStatement(orm.em.getConnection() as unknown as SqlConnection);
        orm.em.getEventManager().registerSubscriber(adapter.scopePerTransaction());
      }
      adapter.refuseEndedLives(orm.em.getConnection() as unknown as SqlConnection, incarnations);
      const registry = new SqlTenantRegistry(() => orm.em.getContext(false), options.registryTable, adapter.transactions);
      await registry.ensure();
      resolveTenantTransactionsInContext(orm.config, orm.em.name);
      const strategy = new RowStrategy({ orm, model, registry, incarnations, databaseEnforces: rowLevelSecurity });
      const makeContextEm = (check: () => void) => {
        const em = orm.em.fork({ useContext: true }) as SqlEntityManager & { contextCheck?: () => void };
        em.contextCheck = check;
        return em;
      };
      const tenancy = new RowTenancy({ orm, options, model, registry, strategy, tenantMeta, rowLevelSecurity, makeContextEm });
      if (tenantMeta && options.deleteOnTenantDelete) {
        orm.em.getEventManager().registerSubscriber(new TenantRowsDeletion({
          model, tenantRoot: tenantMeta.root.className, databaseEnforces: rowLevelSecurity,
          tenantIdOf: entity => {
            try {
              return tenancy.tenantId(entity);
            } catch {
              return undefined;
            }
          },
        }));
      }
      if (options.tenantEntity) {
        orm.em.getEventManager().registerSubscriber(new TenantDeletionSubscriber({
          entity: options.tenantEntity,
          enabled: options.deleteOnTenantDelete,
          tenantIdOf: entity => {
            try {
              return tenancy.tenantId(entity);
            } catch {
              return undefined;
            }
          },
          warn: message => options.warn(message, 'MIKRO_TENANT_DELETION'),
          deleteTenant: async id => { await tenancy.deleteTenant(id); },
          transactions: adapter.transactions,
        }));
      }
      return tenancy;
    } catch (error) {
      await orm.close(true);
      throw error;
    }
  }

  /**
   * The strategy's admin operations, for tools such as the `mikro-tenant` CLI (`@mikro-tenant/cli`): a
   * tenant is its rows, so `migrate` has nothing to do per tenant and backup, restore and templates are not
   * supported (`ERR_NOT_SUPPORTED`).
   */
  admin(): RowAdmin {
    this.#admin ??= new RowAdmin(this);
    return this.#admin;
  }

  /**
   * Runs `fn` with an EntityManager that sees every tenant: the one explicit way across tenants. It is a
   * fresh EntityManager (its identity map never meets a tenant's), and each of its statements is labelled
   * in MikroORM's query log (`mikro-tenant: unscoped, all tenants`).
   * @throws TenantError `ERR_TENANCY_CLOSED`
   * @example
   * const total = await tenancy.unscoped(em => em.count(Note));
   */
  unscoped<T>(fn: (em: SqlEntityManager) => T | Promise<T>): Promise<T> {
    return this.lifecycle.track(async () => {
      const em = this.orm.em.fork({ clear: true, useContext: false }) as SqlEntityManager;
      em.setLoggerContext(unscopedLoggerContext());
      return fn(em);
    });
  }

  /**
   * The SQL that makes PostgreSQL enforce the tenant column (row level security enabled and forced, one
   * policy per tenant-owned table): run it as the tables' owner, e.g. in a migration after the tables'.
   */
  rowSecuritySql(): string[] {
    return rowSecurityStatements(this.#model.tables);
  }

  /** Runs {@link rowSecuritySql} on the tenancy's own connection (which must own the tables), in one transaction. */
  async applyRowSecurity(): Promise<void> {
    const connection = this.orm.em.getConnection() as unknown as SqlConnection;
    await connection.transactional(async trx => {
      for (const sql of this.rowSecuritySql()) {
        await connection.execute(sql, [], 'run', trx);
      }
    });
  }
}

function isPostgres(platform: Platform): boolean {
  return /postgre/i.test(platform.constructor.name) || /postgre/i.test(Object.getPrototypeOf(platform.constructor)?.name ?? '');
}

import { TableNotFoundException, type MikroORM } from '@mikro-orm/core';
import {
  OncePerTenantProvisioning, TenantError, type ProvisionOutcome, type SqlTenantRegistry, type TenancyStrategy, type TenantInfo,
  type TenantRecord, type TenantSchemaUpdates,
} from '@mikro-tenant/core';
import { qualifiedTable, settingStatement } from './row-security-sql.js';
import type { SqlConnection, SqlEntityManager } from './sql-entity-manager.js';
import { tenantLoggerContext } from './row-scope.js';
import type { TenantIncarnations } from './tenant-incarnations.js';
import type { TenantOwnedModel } from './tenant-owned-model.js';

/** What {@link RowTenancy.reconcile} found: tenant ids with rows in tenant-owned tables but no registry row. */
export interface RowReconcileReport {
  /** Tenant ids found in the tables and missing from the registry (registered with `fix`). */
  unregistered: string[];
  /** Tenant-owned tables the database does not have yet (the schema is not created or migrated): nothing to find there. */
  missingTables: string[];
}

/** Where the registry row says a row tenant lives. */
export const ROW_LOCATION = 'rows';

interface RowStrategyInit {
  orm: MikroORM;
  model: TenantOwnedModel;
  registry: SqlTenantRegistry;
  /** The life of each tenant its EntityManagers are marked with (deleting a tenant ends it). */
  incarnations: TenantIncarnations;
  /** The database enforces the tenant (statements must name it). */
  databaseEnforces: boolean;
}

/** Registering a tenant is its provisioning: its tables are everyone's. */
class RowProvisioning extends OncePerTenantProvisioning {
  readonly #registry: SqlTenantRegistry;

  constructor(registry: SqlTenantRegistry) {
    super();
    this.#registry = registry;
  }

  protected async attempt(tenantId: string): Promise<ProvisionOutcome> {
    const created = await this.#registry.register({ tenantId, location: ROW_LOCATION, schemaVersion: null });
    const record = await this.#registry.get(tenantId);
    return { created, record: record!, how: 'registered' };
  }
}

/** One schema for everyone: nothing to bring up to date per tenant (migrate the shared schema as usual). */
const NO_SCHEMA_UPDATES: TenantSchemaUpdates<SqlEntityManager> = Object.freeze({
  apply: async () => ({ executed: [], version: null }),
  pending: async () => [],
});

/**
 * Where row tenants live: in everyone's tables, told apart by the tenant column. A tenant is its registry
 * row; its EntityManager is a fork of the shared one marked with the tenant (it holds no connection).
 */
export class RowStrategy implements TenancyStrategy<SqlEntityManager, RowReconcileReport> {
  readonly provisioning: RowProvisioning;
  readonly schemaUpdates = NO_SCHEMA_UPDATES;
  readonly #init: RowStrategyInit;

  constructor(init: RowStrategyInit) {
    this.#init = init;
    this.provisioning = new RowProvisioning(init.registry);
  }

  exists(tenantId: string): Promise<boolean> {
    return this.#init.registry.exists(tenantId);
  }

  async open(tenantId: string, mayCreate: boolean): Promise<SqlEntityManager> {
    if (!(await this.#init.registry.exists(tenantId))) {
      if (!mayCreate) {
        throw TenantError.tenantNotFound(tenantId);
      }
      await this.provisioning.provision(tenantId, false);
    }
    const em = this.#init.orm.em.fork({ clear: true, useContext: false }) as SqlEntityManager;
    em.setLoggerContext(tenantLoggerContext(tenantId, this.#init.incarnations.current(tenantId)));
    return em;
  }

  // A tenant EntityManager holds no connection.
  async close(): Promise<void> {}

  async remove(tenantId: string): Promise<boolean> {
    const { orm, model, registry, databaseEnforces, incarnations } = this.#init;
    // From here on every EntityManager of this life of the tenant refuses to run (a late write would leave orphan rows).
    incarnations.end(tenantId);
    const connection = orm.em.getConnection() as unknown as SqlConnection;
    const context = tenantLoggerContext(tenantId);
    let existed = false;
    // One transaction: the tenant's rows, children first, and its registry row go together.
    await connection.transactional(async trx => {
      const setting = databaseEnforces ? settingStatement({ tenantId }, orm.em.getPlatform()) : undefined;
      if (setting) {
        await connection.execute(setting, [], 'all', trx, { enabled: false } as never);
      }
      for (const table of model.tables) {
        const res = await connection.execute<{ affectedRows?: number }>(`delete from ${qualifiedTable(table)} where "${table.column}" = ?`, [tenantId], 'run', trx, context);
        existed ||= Number(res.affectedRows ?? 0) > 0;
      }
      const res = await connection.execute<{ affectedRows?: number }>(`delete from "${registry.table}" where tenant_id = ?`, [tenantId], 'run', trx, context);
      existed ||= Number(res.affectedRows ?? 0) > 0;
    });
    return existed;
  }

  async describe(records: TenantRecord[]): Promise<TenantInfo[]> {
    return records.map(record => ({ ...record }));
  }

  async reconcile(fix: boolean): Promise<RowReconcileReport> {
    const { orm, model, registry } = this.#init;
    const connection = orm.em.getConnection() as unknown as SqlConnection;
    const found = new Set<string>();
    const missingTables: string[] = [];
    for (const table of model.tables) {
      let rows: { t: string }[];
      try {
        rows = await connection.execute<{ t: string }[]>(
          `select distinct "${table.column}" as t from ${qualifiedTable(table)}`, [], 'all', undefined, { mikroTenantUnscoped: true } as never);
      } catch (error) {
        // A table the schema does not have yet holds no tenant's rows: said in the report, not an error.
        if (orm.em.getDriver().convertException(error as Error) instanceof TableNotFoundException) {
          missingTables.push(table.table);
          continue;
        }
        throw error;
      }
      rows.forEach(row => found.add(String(row.t)));
    }
    const unregistered: string[] = [];
    for (const id of [...found].sort()) {
      if (!(await registry.exists(id))) {
        unregistered.push(id);
      }
    }
    if (fix && unregistered.length > 0) {
      await registry.registerMany(unregistered.map(tenantId => ({ tenantId, location: ROW_LOCATION, schemaVersion: null })));
    }
    return { unregistered, missingTables };
  }

  async shutDown(): Promise<void> {
    await this.#init.orm.close(true);
  }
}

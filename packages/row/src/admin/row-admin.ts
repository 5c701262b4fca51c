import { TenantError, type AdminReconcileReport, type SchemaApplyResult, type TenancyAdmin, type TenantBackup } from '@mikro-tenant/core';
import type { RowTenancy } from '../row-tenancy.js';

/** Why the row strategy has no per-tenant backup, restore or template: every tenant lives in the same tables. */
const UNSUPPORTED = Object.freeze({
  backup: 'every tenant lives in the same tables, so back up the whole database (pg_dump of the database on PostgreSQL, a copy of the file made with SQLite\'s backup API or VACUUM INTO on SQLite)',
  restore: 'every tenant lives in the same tables, so restore the whole database from its backup (pg_restore/psql, or put the copied SQLite file back with the app stopped)',
  template: 'a new tenant is only a registry row, so there is no template to build',
});

/**
 * The admin operations of the row strategy (the `mikro-tenant` CLI's view of it). A tenant is its registry
 * row and its rows in the shared tables: there is no storage of its own to find, migrate, back up or
 * restore. `migrate` has nothing to do per tenant (the one shared schema is migrated once, with MikroORM's
 * Migrator, like any app's); `reconcile` finds tenant ids in the tables without a registry row. Made by
 * `RowTenancy.admin()`.
 */
export class RowAdmin implements TenancyAdmin {
  readonly strategy = 'row';
  readonly storage = 'rows';
  readonly parallelism = 'connections';
  readonly restoreCanReplace = false;
  readonly unsupported = UNSUPPORTED;
  readonly migrateNote = 'the row strategy keeps every tenant in one shared schema, so nothing is migrated per tenant: '
    + 'migrate that schema once with MikroORM\'s Migrator (npx mikro-orm migration:up, or orm.migrator.up())';
  readonly #tenancy: RowTenancy;

  constructor(tenancy: RowTenancy) {
    this.#tenancy = tenancy;
  }

  locationOf(): string {
    return 'rows in the shared tables';
  }

  // Tenant ids in the tables without a registry row are reconcile's finding; no command has per-tenant work for them.
  async everyTenant(): Promise<{ present: string[]; missing: string[]; unregistered: string[] }> {
    const records = await this.#tenancy.registry.list();
    return { present: records.map(r => r.tenantId), missing: [], unregistered: [] };
  }

  isRegistered(tenantId: string): Promise<boolean> {
    return this.#tenancy.registry.exists(tenantId);
  }

  async reconcile(fix: boolean): Promise<AdminReconcileReport> {
    const report = await this.#tenancy.reconcile({ fix });
    const notes = report.missingTables.length ? [`tenant-owned tables not created yet (nothing found there): ${report.missingTables.join(', ')}`] : [];
    return { report, missing: [], unregistered: report.unregistered, notes };
  }

  // One schema for every tenant: nothing is pending per tenant.
  async migrate(): Promise<SchemaApplyResult> {
    return { executed: [], version: null };
  }

  // No per-tenant versions to record: the registry's schema_version stays null for row tenants.
  async recordSchemaVersions(): Promise<void> {}

  // A row tenant's storage cannot go missing (its registry row is the tenant); kept for the contract.
  missingError(tenantIds: string[]): Error {
    return TenantError.tenantNotFound(tenantIds.join(', '));
  }

  async template(): Promise<string> {
    throw TenantError.notSupported('template', this.strategy, UNSUPPORTED.template);
  }

  async backup(): Promise<TenantBackup[]> {
    throw TenantError.notSupported('backup', this.strategy, UNSUPPORTED.backup);
  }

  async restore(): Promise<void> {
    throw TenantError.notSupported('restore', this.strategy, UNSUPPORTED.restore);
  }
}

import { TenantError, type AdminReconcileReport, type SchemaApplyResult, type TenancyAdmin, type TenantBackup } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { migrateOnHandle, type TenancyInternals } from '../tenancy-tools.js';
import { fileExists } from '../tenant-files.js';
import { backupTenantFiles } from './sqlite-backup.js';
import { restoreTenantFile } from './sqlite-restore.js';

/**
 * The admin operations of the SQLite strategy (the `mikro-tenant` CLI's view of it): tenant files,
 * migrations on a bare handle, batched registry versions, the template, backups through SQLite's online
 * backup API. Made by `SqliteTenancy.admin()`.
 */
export class SqliteAdmin implements TenancyAdmin {
  readonly strategy = 'sqlite';
  readonly storage = 'file';
  // better-sqlite3 is synchronous: migrations in parallel need processes.
  readonly parallelism = 'processes';
  readonly restoreCanReplace = true;
  readonly #tenancy: SqliteTenancy;
  readonly #internals: TenancyInternals;

  constructor(tenancy: SqliteTenancy, internals: TenancyInternals) {
    this.#tenancy = tenancy;
    this.#internals = internals;
  }

  locationOf(tenantId: string): string {
    return this.#internals.files.path(tenantId);
  }

  async everyTenant(): Promise<{ present: string[]; missing: string[]; unregistered: string[] }> {
    const { files } = this.#internals;
    const [records, scanned] = await Promise.all([this.#tenancy.registry.list(), files.scan()]);
    const onDisk = new Set(scanned);
    const present: string[] = [];
    const missing: string[] = [];
    for (const { tenantId } of records) {
      (onDisk.has(tenantId) ? present : missing).push(tenantId);
    }
    const known = new Set(records.map(r => r.tenantId));
    return { present, missing, unregistered: scanned.filter(id => !known.has(id)).sort() };
  }

  isRegistered(tenantId: string): Promise<boolean> {
    return this.#tenancy.registry.exists(tenantId);
  }

  async reconcile(fix: boolean): Promise<AdminReconcileReport> {
    const report = await this.#tenancy.reconcile({ fix });
    return { report, missing: report.missingFiles, unregistered: report.unregistered };
  }

  async migrate(tenantId: string): Promise<SchemaApplyResult> {
    // Migrations that only add SQL need no connection: the file is opened, migrated and closed.
    return await migrateOnHandle(this.#internals, tenantId)
      ?? await this.#tenancy.run(tenantId, em => this.#tenancy.schema.apply(em), { sharedContext: false });
  }

  async recordSchemaVersions(byVersion: Map<string | null, string[]>): Promise<void> {
    const { orm, registry } = this.#tenancy;
    // One commit of the shared database for the batch: the registry's statements join the transaction.
    await orm.em.fork().transactional(async () => {
      for (const [version, tenantIds] of byVersion) {
        await registry.setSchemaVersions(tenantIds, version);
      }
    });
  }

  missingError(tenantIds: string[]): Error {
    return TenantError.storageMissing(tenantIds, 'file');
  }

  async afterMigrate(): Promise<string | null> {
    // The template's name carries the schema key, a hash of the migrations' names and content (or of the
    // entities' DDL): one that exists is current, also after a migration was edited in place (new key).
    const current = this.#internals.templatePath();
    if (current && fileExists(current)) {
      return current;
    }
    await this.#tenancy.clearTemplate();
    return (await this.#tenancy.buildTemplate({ spares: false })) ?? null;
  }

  async template(action: 'build' | 'clear'): Promise<string> {
    if (action === 'build') {
      return `template: ${(await this.#tenancy.buildTemplate({ spares: false })) ?? 'none (the config sets tenancy.template: false)'}\n`;
    }
    const removed = await this.#tenancy.clearTemplate();
    return `removed ${removed} template file${removed === 1 ? '' : 's'}\n`;
  }

  backup(tenantIds: string[], options: { out: string; force: boolean }, onDone: (backup: TenantBackup) => void): Promise<TenantBackup[]> {
    return this.#internals.track(() => backupTenantFiles(this.#internals.files, tenantIds, options, onDone));
  }

  restore(tenantId: string, file: string, options: { force: boolean }): Promise<void> {
    const { schema, options: tenancyOptions } = this.#tenancy;
    return this.#internals.track(() => restoreTenantFile({
      files: this.#internals.files,
      registry: this.#tenancy.registry,
      migrationsTable: schema.kind === 'migrations' ? tenancyOptions.migrations?.tableName ?? 'mikro_orm_migrations' : undefined,
    }, tenantId, file, options));
  }
}

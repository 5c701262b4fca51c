import { TenantError, type AdminReconcileReport, type SchemaApplyResult, type TenancyAdmin, type TenantBackup } from '@mikro-tenant/core';
import type { PostgresSchemaTenancy } from '../postgres-schema-tenancy.js';
import type { RegistryConnection, SchemaTenantRegistry } from '../schema-registry.js';
import type { PgAdminContext } from './pg-admin-context.js';
import { dumpTenantSchemas } from './pg-backup.js';
import { restoreTenantSchema } from './pg-restore.js';
import type { PgConnectionEnv } from './pg-tools.js';

/** What {@link PostgresAdmin} needs of the connection beyond the registry's: libpq's settings for client programs. */
interface ConnectionWithOptions extends RegistryConnection {
  getConnectionOptions(): { host?: string; port?: number; user?: string; password?: string; database?: string };
}

/**
 * The admin operations of the schema strategy (the `mikro-tenant` CLI's view of it): tenant schemas,
 * concurrent migrations on the shared pool, backups with `pg_dump --schema` and restores through
 * `pg_restore`/`psql` in one transaction. Made by `PostgresSchemaTenancy.admin()`.
 */
export class PostgresAdmin implements TenancyAdmin {
  readonly strategy = 'pg-schema';
  readonly storage = 'schema';
  // Migrations wait on the server, not on this process: several at once on the shared pool.
  readonly parallelism = 'connections';
  readonly restoreCanReplace = false;
  readonly #tenancy: PostgresSchemaTenancy;
  readonly #context: PgAdminContext;
  readonly #track: <T>(fn: () => Promise<T>) => Promise<T>;
  #major?: Promise<number>;

  /**
   * @param registry the registry itself (its statements become part of a restore's transaction)
   * @param track runs an operation `close()` waits for; refuses (`ERR_TENANCY_CLOSED`) once `close()` began
   */
  constructor(tenancy: PostgresSchemaTenancy, registry: SchemaTenantRegistry, track: <T>(fn: () => Promise<T>) => Promise<T>) {
    this.#tenancy = tenancy;
    this.#track = track;
    const connection = () => tenancy.orm.em.getConnection() as unknown as ConnectionWithOptions;
    this.#context = {
      schemaOf: id => tenancy.schemas.schemaOf(id),
      env: () => connectionEnv(connection().getConnectionOptions()),
      serverMajor: () => {
        this.#major ??= connection().execute<{ major: number | string }[]>("select current_setting('server_version_num')::int / 10000 as major", [], 'all')
          .then(rows => Number(rows[0]!.major));
        return this.#major;
      },
      execute: (sql, params = []) => connection().execute(sql, params, 'all'),
      registry,
      migrationsTable: tenancy.options.migrations ? tenancy.options.migrations.tableName ?? 'mikro_orm_migrations' : undefined,
      modes: { dirMode: 0o700, fileMode: 0o600 },
    };
  }

  locationOf(tenantId: string): string {
    return `schema ${this.#tenancy.schemas.schemaOf(tenantId)}`;
  }

  async everyTenant(): Promise<{ present: string[]; missing: string[]; unregistered: string[] }> {
    // One catalog query for all schemas, not one per tenant.
    const [records, report] = await Promise.all([this.#tenancy.registry.list(), this.#tenancy.reconcile({ fix: false })]);
    const missing = new Set(report.missingSchemas);
    return {
      present: records.map(r => r.tenantId).filter(id => !missing.has(id)),
      missing: report.missingSchemas,
      unregistered: report.unregistered,
    };
  }

  isRegistered(tenantId: string): Promise<boolean> {
    return this.#tenancy.registry.exists(tenantId);
  }

  async reconcile(fix: boolean): Promise<AdminReconcileReport> {
    const report = await this.#tenancy.reconcile({ fix });
    return { report, missing: report.missingSchemas, unregistered: report.unregistered };
  }

  migrate(tenantId: string): Promise<SchemaApplyResult> {
    return this.#tenancy.run(tenantId, em => this.#tenancy.schema.apply(em), { sharedContext: false, create: false });
  }

  async recordSchemaVersions(byVersion: Map<string | null, string[]>): Promise<void> {
    for (const [version, tenantIds] of byVersion) {
      await this.#tenancy.registry.setSchemaVersions(tenantIds, version);
    }
  }

  missingError(tenantIds: string[]): Error {
    return TenantError.storageMissing(tenantIds, 'schema');
  }

  backup(tenantIds: string[], options: { out: string; force: boolean }, onDone: (backup: TenantBackup) => void): Promise<TenantBackup[]> {
    return this.#track(() => dumpTenantSchemas(this.#context, tenantIds, options, onDone));
  }

  async restore(tenantId: string, file: string): Promise<void> {
    await this.#track(() => restoreTenantSchema(this.#context, tenantId, file));
  }
}

function connectionEnv(options: ReturnType<ConnectionWithOptions['getConnectionOptions']>): PgConnectionEnv {
  const env: PgConnectionEnv = {};
  if (options.host) {
    env.PGHOST = options.host;
  }
  if (options.port) {
    env.PGPORT = String(options.port);
  }
  if (options.user) {
    env.PGUSER = options.user;
  }
  if (options.password) {
    env.PGPASSWORD = options.password;
  }
  if (options.database) {
    env.PGDATABASE = options.database;
  }
  return env;
}

import { TenantError } from '@mikro-tenant/core';
import type { Configuration } from '@mikro-orm/core';
import type { TenantBinding } from './orm-adapter.js';
import { openTenantHandle } from './tenant-handle.js';
import type { TenantFiles } from './tenant-files.js';
import type { SchemaApplyResult, TenantSchemaSource } from './tenant-schema.js';

/** What the package's own admin tools (`SqliteAdmin`) reach of a tenancy beyond its public API. Not exported from the package. */
export interface TenancyInternals {
  readonly files: TenantFiles;
  readonly schema: TenantSchemaSource;
  /** The tenants' configuration. */
  readonly config: Configuration;
  /** Prepares a tenant handle (pragmas, ATTACH). */
  readonly setup: TenantBinding['setup'];
  /** Checks every statement on a tenant handle (refuses writes of the attached shared database). */
  readonly guard?: TenantBinding['guard'];
  /** True while a connection of the tenancy holds the tenant, or it is being provisioned or deleted. */
  busy(tenantId: string): boolean;
  /** Runs `fn` as an operation `close()` waits for; refused once `close()` began. */
  track<T>(fn: () => Promise<T>): Promise<T>;
  /** Path of the template of the current schema key (which may not exist yet); undefined with `template: false`. */
  templatePath(): string | undefined;
}

/**
 * Applies a tenant's pending migrations on a bare handle of its file, without a connection, an
 * EntityManager or the pool (about the cost of opening the file, running the SQL and closing it), when
 * the schema source can (a `migrationsList` whose pending migrations only add SQL) and no connection of
 * the tenancy holds the tenant. Resolves undefined, having done nothing, otherwise: then migrate through
 * `run()`. For admin tools (the CLI), which migrate one tenant at a time and do nothing else with the tenancy.
 * @throws TenantError `ERR_TENANT_MIGRATION_FAILED` (rolled back), `ERR_TENANCY_CLOSED`
 */
export async function migrateOnHandle(internals: TenancyInternals, tenantId: string): Promise<SchemaApplyResult | undefined> {
  if (!internals.schema.applyOnHandle || internals.busy(tenantId)) {
    return undefined;
  }
  return internals.track(async () => {
    let db: ReturnType<typeof openTenantHandle>;
    try {
      db = openTenantHandle({ tenantId, file: internals.files.path(tenantId), setup: internals.setup, guard: internals.guard });
    } catch {
      // Missing or unreadable: the ordinary path reports it as it does.
      return undefined;
    }
    try {
      return await internals.schema.applyOnHandle!(db, internals.config);
    } catch (error) {
      throw TenantError.migrationFailed(tenantId, error);
    } finally {
      db.close();
    }
  });
}

import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { CliError, messageOf, oneLine } from './cli-error.js';
import type { CliIo } from './io.js';
import { pendingChanges } from './tenant-status.js';

/** One row of `mikro-tenant list --json`. */
export interface TenantListRow {
  /** Canonical tenant id. */
  tenantId: string;
  /** Database plus `-wal` file, in bytes; `null` when the file is missing. */
  sizeBytes: number | null;
  /** Last modification (ISO 8601); `null` when the file is missing. */
  modifiedAt: string | null;
  /** Schema version recorded in the registry. */
  schemaVersion: string | null;
  /** How many migrations `migrate` would apply; `null` when the file is missing or cannot be read. */
  pendingMigrations: number | null;
  /** Why the tenant's database could not be read, when it could not. */
  error?: string;
}

/** `mikro-tenant list [--json]`: registered tenants with file size, last modification and pending migration count. */
export async function listTenants(tenancy: SqliteTenancy, options: { json?: boolean }, io: CliIo): Promise<number> {
  const rows: TenantListRow[] = [];
  for (const tenant of await tenancy.listTenants()) {
    const row: TenantListRow = {
      tenantId: tenant.tenantId,
      sizeBytes: tenant.sizeBytes ?? null,
      modifiedAt: tenant.modifiedAt?.toISOString() ?? null,
      schemaVersion: tenant.schemaVersion,
      pendingMigrations: null,
    };
    if (tenant.sizeBytes !== undefined) {
      try {
        row.pendingMigrations = (await pendingChanges(tenancy, tenant.tenantId)).length;
      } catch (error) {
        row.error = oneLine(messageOf(error));
      }
    }
    rows.push(row);
  }
  printTenantList(rows, options.json === true, io);
  return 0;
}

/** Prints the tenant list: `{ tenants: [...] }` as JSON on one line, or a table. */
export function printTenantList(rows: TenantListRow[], json: boolean, io: CliIo): void {
  if (json) {
    io.out(`${JSON.stringify({ tenants: rows })}\n`);
    return;
  }
  const width = Math.max(6, ...rows.map(r => r.tenantId.length));
  io.out(`${'tenant'.padEnd(width)}  ${'bytes'.padStart(10)}  ${'modified'.padEnd(24)}  pending\n`);
  for (const row of rows) {
    const size = row.sizeBytes === null ? 'missing' : String(row.sizeBytes);
    const pending = row.error ? `unreadable: ${row.error}` : String(row.pendingMigrations ?? '-');
    io.out(`${row.tenantId.padEnd(width)}  ${size.padStart(10)}  ${(row.modifiedAt ?? '-').padEnd(24)}  ${pending}\n`);
  }
  io.out(`${rows.length} tenant${rows.length === 1 ? '' : 's'}\n`);
}

/**
 * `mikro-tenant reconcile [--fix] [--json]`: registry rows without files and files without registry rows.
 * Resolves 1 when it finds any and `--fix` was not given.
 */
export async function reconcile(tenancy: SqliteTenancy, options: { fix?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const report = await tenancy.reconcile({ fix: options.fix });
  const fixed = options.fix === true;
  if (options.json) {
    io.out(`${JSON.stringify({ ...report, fixed })}\n`);
  } else {
    io.out(`registered without a file: ${report.missingFiles.join(', ') || 'none'}\n`);
    io.out(`files without a registry row: ${report.unregistered.join(', ') || 'none'}\n`);
    if (fixed && (report.missingFiles.length || report.unregistered.length)) {
      io.out('registry repaired: stray files registered, rows without files dropped\n');
    }
  }
  return fixed || (!report.missingFiles.length && !report.unregistered.length) ? 0 : 1;
}

/**
 * `mikro-tenant create ID`: creates and registers a tenant database now.
 * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_EXISTS` (never overwrites)
 */
export async function createTenant(tenancy: SqliteTenancy, id: string, io: CliIo): Promise<number> {
  const record = await tenancy.createTenant(canonicalTenantId(id));
  io.out(`created ${record.tenantId} (${tenancy.files.path(record.tenantId)})\n`);
  return 0;
}

/**
 * `mikro-tenant delete ID [--yes]`: removes the database with its `-wal`/`-shm`/`-journal` and registry row.
 * Asks first on a terminal; without one it refuses unless `--yes`. Resolves 1 when the answer is no.
 *
 * @throws TenantError `ERR_INVALID_TENANT_ID`; CliError `ERR_TENANT_NOT_FOUND`, `ERR_CONFIRMATION_REQUIRED`
 */
export async function deleteTenant(tenancy: SqliteTenancy, id: string, options: { yes?: boolean }, io: CliIo): Promise<number> {
  const tenantId = canonicalTenantId(id);
  if (!await tenancy.tenantExists(tenantId) && !await tenancy.registry.exists(tenantId)) {
    throw CliError.tenantNotFound(tenantId);
  }
  if (!options.yes) {
    if (!io.interactive) {
      throw CliError.confirmationRequired(`deleting tenant "${tenantId}" removes all its data`);
    }
    if (!await io.confirm(`Delete tenant "${tenantId}" and all its data?`)) {
      io.err('nothing deleted\n');
      return 1;
    }
  }
  await tenancy.deleteTenant(tenantId);
  io.out(`deleted ${tenantId}\n`);
  return 0;
}

/**
 * `mikro-tenant template build|clear`: builds the template database for the current schema now, or removes it.
 * @throws CliError `ERR_USAGE` for another action
 */
export async function template(tenancy: SqliteTenancy, action: string, io: CliIo): Promise<number> {
  if (action === 'build') {
    io.out(`template: ${(await tenancy.buildTemplate({ spares: false })) ?? 'none (the config sets tenancy.template: false)'}\n`);
    return 0;
  }
  if (action === 'clear') {
    const removed = await tenancy.clearTemplate();
    io.out(`removed ${removed} template file${removed === 1 ? '' : 's'}\n`);
    return 0;
  }
  throw CliError.usage(`template takes "build" or "clear", not "${action}"`);
}

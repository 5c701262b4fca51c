import { TenantError, type AdminTenancy } from '@mikro-tenant/core';
import { CliError, messageOf, oneLine } from './cli-error.js';
import type { CliIo } from './io.js';
import { pendingChanges, refuseUnsupported, tenantIdOf } from './tenant-status.js';

/** One row of `mikro-tenant list --json`. */
export interface TenantListRow {
  /** Canonical tenant id. */
  tenantId: string;
  /** Size of the tenant's storage in bytes (SQLite: database plus `-wal` file; PostgreSQL: its schema's tables); `null` when it is missing, and for row tenants (no storage of their own). */
  sizeBytes: number | null;
  /** Last modification (ISO 8601); `null` when the storage is missing or the strategy does not know it (PostgreSQL). */
  modifiedAt: string | null;
  /** Schema version recorded in the registry. */
  schemaVersion: string | null;
  /** How many migrations `migrate` would apply; `null` when the storage is missing or cannot be read. */
  pendingMigrations: number | null;
  /** Why the tenant's storage could not be read, when it could not. */
  error?: string;
}

/** `mikro-tenant list [--json]`: registered tenants with storage size, last modification and pending migration count. */
export async function listTenants(tenancy: AdminTenancy, options: { json?: boolean }, io: CliIo): Promise<number> {
  const rows: TenantListRow[] = [];
  // A row tenant has no storage of its own to measure: no size, and nothing missing.
  const sized = tenancy.admin().storage !== 'rows';
  for (const tenant of await tenancy.listTenants()) {
    const row: TenantListRow = {
      tenantId: tenant.tenantId,
      sizeBytes: tenant.sizeBytes ?? null,
      modifiedAt: tenant.modifiedAt?.toISOString() ?? null,
      schemaVersion: tenant.schemaVersion,
      pendingMigrations: null,
    };
    if (tenant.sizeBytes !== undefined || !sized) {
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
    const size = row.sizeBytes !== null ? String(row.sizeBytes) : row.pendingMigrations === null && !row.error ? 'missing' : '-';
    const pending = row.error ? `unreadable: ${row.error}` : String(row.pendingMigrations ?? '-');
    io.out(`${row.tenantId.padEnd(width)}  ${size.padStart(10)}  ${(row.modifiedAt ?? '-').padEnd(24)}  ${pending}\n`);
  }
  io.out(`${rows.length} tenant${rows.length === 1 ? '' : 's'}\n`);
}

/**
 * `mikro-tenant reconcile [--fix] [--json]`: registry rows without storage (files, schemas) and storage
 * without registry rows. Resolves 1 when it finds any and `--fix` was not given.
 */
export async function reconcile(tenancy: AdminTenancy, options: { fix?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const fixed = options.fix === true;
  const admin = tenancy.admin();
  const { report, missing, unregistered, notes = [] } = await admin.reconcile(fixed);
  // The row strategy has no storage of a tenant's own to miss: its finding is tenant ids in the shared tables.
  const [one, many] = admin.storage === 'rows' ? ['rows', 'tenant ids in the shared tables'] : [`a ${admin.storage}`, `${admin.storage}s`];
  if (options.json) {
    io.out(`${JSON.stringify({ ...report, fixed })}\n`);
  } else {
    if (admin.storage !== 'rows') {
      io.out(`registered without ${one}: ${missing.join(', ') || 'none'}\n`);
    }
    io.out(`${many} without a registry row: ${unregistered.join(', ') || 'none'}\n`);
    notes.forEach(note => io.out(`${note}\n`));
    if (fixed && (missing.length || unregistered.length)) {
      io.out(admin.storage === 'rows' ? 'registry repaired: stray tenant ids registered\n' : `registry repaired: stray ${many} registered, rows without ${many} dropped\n`);
    }
  }
  return fixed || (!missing.length && !unregistered.length) ? 0 : 1;
}

/**
 * `mikro-tenant create ID`: creates and registers a tenant's storage (file, schema) now.
 * @throws TenantError `ERR_INVALID_TENANT_ID`, `ERR_TENANT_EXISTS` (never overwrites)
 */
export async function createTenant(tenancy: AdminTenancy, id: string, io: CliIo): Promise<number> {
  const record = await tenancy.createTenant(tenantIdOf(tenancy, id));
  io.out(`created ${record.tenantId} (${tenancy.admin().locationOf(record.tenantId)})\n`);
  return 0;
}

/**
 * `mikro-tenant delete ID [--yes]`: removes the tenant's storage (a file with its `-wal`/`-shm`/`-journal`,
 * a schema) and registry row.
 * Asks first on a terminal; without one it refuses unless `--yes`. Resolves 1 when the answer is no.
 *
 * @throws TenantError `ERR_INVALID_TENANT_ID`; CliError `ERR_TENANT_NOT_FOUND`, `ERR_CONFIRMATION_REQUIRED`
 */
export async function deleteTenant(tenancy: AdminTenancy, id: string, options: { yes?: boolean }, io: CliIo): Promise<number> {
  const tenantId = tenantIdOf(tenancy, id);
  if (!await tenancy.tenantExists(tenantId) && !await tenancy.admin().isRegistered(tenantId)) {
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
 * `mikro-tenant template build|clear`: builds the template database for the current schema now, or removes
 * it, where the strategy has templates (SQLite).
 * @throws CliError `ERR_USAGE` for another action; TenantError `ERR_NOT_SUPPORTED`
 */
export async function template(tenancy: AdminTenancy, action: string, io: CliIo): Promise<number> {
  if (action !== 'build' && action !== 'clear') {
    throw CliError.usage(`template takes "build" or "clear", not "${action}"`);
  }
  refuseUnsupported(tenancy, 'template');
  const admin = tenancy.admin();
  if (!admin.template) {
    throw TenantError.notSupported('template', admin.strategy, 'new tenants are provisioned from a script made once per process');
  }
  io.out(await admin.template(action));
  return 0;
}

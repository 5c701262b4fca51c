import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { CliError, type CliIo } from './io.js';

/** `mikro-tenant list`: registered tenants with file size, last modification and pending migrations. */
export async function listTenants(tenancy: SqliteTenancy, options: { json?: boolean }, io: CliIo): Promise<number> {
  const tenants = await tenancy.listTenants();
  const rows = [];
  for (const t of tenants) {
    const exists = await tenancy.tenantExists(t.tenantId);
    rows.push({
      id: t.tenantId,
      sizeBytes: t.sizeBytes ?? null,
      modifiedAt: t.modifiedAt?.toISOString() ?? null,
      schemaVersion: t.schemaVersion,
      pendingMigrations: exists ? (await tenancy.pendingMigrations(t.tenantId)).length : null,
    });
  }
  if (options.json) {
    io.out(`${JSON.stringify({ tenants: rows })}\n`);
    return 0;
  }
  io.out(`${'id'.padEnd(24)} ${'size'.padStart(10)}  ${'modified'.padEnd(24)} pending\n`);
  for (const row of rows) {
    io.out(`${row.id.padEnd(24)} ${String(row.sizeBytes ?? 'missing').padStart(10)}  ${(row.modifiedAt ?? '-').padEnd(24)} ${row.pendingMigrations ?? '-'}\n`);
  }
  io.out(`${rows.length} tenants\n`);
  return 0;
}

/** `mikro-tenant reconcile [--fix]`: registry rows without files and files without registry rows. */
export async function reconcile(tenancy: SqliteTenancy, options: { fix?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const report = await tenancy.reconcile({ fix: options.fix });
  if (options.json) {
    io.out(`${JSON.stringify({ ...report, fixed: options.fix === true })}\n`);
  } else {
    io.out(`registered without a file: ${report.missingFiles.join(', ') || 'none'}\n`);
    io.out(`files without a registry row: ${report.unregistered.join(', ') || 'none'}\n`);
    if (options.fix) {
      io.out('registry repaired\n');
    }
  }
  const clean = report.missingFiles.length === 0 && report.unregistered.length === 0;
  return clean || options.fix ? 0 : 1;
}

/** `mikro-tenant create ID`. */
export async function createTenant(tenancy: SqliteTenancy, id: string, io: CliIo): Promise<number> {
  const record = await tenancy.createTenant(canonicalTenantId(id));
  io.out(`created ${record.tenantId} (${record.location})\n`);
  return 0;
}

/** `mikro-tenant delete ID [--yes]`: asks first on a terminal; refuses without a terminal unless `--yes`. */
export async function deleteTenant(tenancy: SqliteTenancy, id: string, options: { yes?: boolean }, io: CliIo): Promise<number> {
  const tenantId = canonicalTenantId(id);
  if (!await tenancy.tenantExists(tenantId) && !await tenancy.registry.exists(tenantId)) {
    throw Object.assign(new Error(`tenant "${tenantId}" does not exist`), { code: 'ERR_TENANT_NOT_FOUND' });
  }
  if (!options.yes) {
    if (!io.interactive) {
      throw new CliError('ERR_CONFIRMATION_REQUIRED', `deleting "${tenantId}" removes all its data; pass --yes to confirm`);
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

/** `mikro-tenant template build|clear`. */
export async function template(tenancy: SqliteTenancy, action: string, io: CliIo): Promise<number> {
  if (action === 'build') {
    io.out(`template: ${(await tenancy.buildTemplate()) ?? 'disabled (template: false)'}\n`);
    return 0;
  }
  if (action === 'clear') {
    io.out(`removed ${await tenancy.clearTemplate()} template file(s)\n`);
    return 0;
  }
  throw new CliError('ERR_USAGE', `template takes "build" or "clear", not "${action}"`);
}

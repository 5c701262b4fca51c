import { resolve } from 'node:path';
import type { AdminTenancy, TenantBackup } from '@mikro-tenant/core';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { refuseUnsupported, tenantIdOf } from './tenant-status.js';

/** Options of {@link backup} (`mikro-tenant backup`). */
export interface BackupOptions {
  /** Folder for the backups (created if missing); relative to `cwd`. */
  out: string;
  /** Back up every tenant (registered, and storage without a registry row). @default false */
  all?: boolean;
  /** Replace existing backup files. @default false */
  force?: boolean;
  /** Print `{ backups: [{ tenantId, file, bytes }] }` on stdout. @default false */
  json?: boolean;
  /** Folder relative paths start from. @default process.cwd() */
  cwd?: string;
}

/**
 * `mikro-tenant backup [ID...] --out DIR` (or `--all`): one consistent backup per tenant, taken while the
 * app keeps writing, by the strategy (SQLite: the online backup API; PostgreSQL: `pg_dump -n`). The ids and
 * that every tenant exists are checked here, and the strategy checks that no backup is in the way, before
 * anything is written; an existing backup is never replaced without `--force`.
 *
 * @throws CliError `ERR_USAGE`, `ERR_TENANT_NOT_FOUND`; TenantError `ERR_NOT_SUPPORTED`, `ERR_INVALID_TENANT_ID`,
 * `ERR_TENANT_FILE_MISSING`/`ERR_TENANT_SCHEMA_MISSING`, `ERR_BACKUP_EXISTS`, `ERR_BACKUP_TOOL_MISSING`, `ERR_BACKUP_FAILED`
 */
export async function backup(tenancy: AdminTenancy, ids: string[], options: BackupOptions, io: CliIo): Promise<number> {
  refuseUnsupported(tenancy, 'backup');
  if (options.all && ids.length) {
    throw CliError.usage('give tenant ids or --all, not both');
  }
  const admin = tenancy.admin();
  const every = options.all ? await admin.everyTenant() : undefined;
  const tenantIds = every
    ? [...every.present, ...every.missing, ...every.unregistered]
    : [...new Set(ids.map(id => tenantIdOf(tenancy, id)))];
  if (!tenantIds.length) {
    throw options.all ? CliError.usage('no tenants are registered') : CliError.usage('name the tenants to back up, or pass --all');
  }
  const missing = every ? every.missing : await absent(tenancy, tenantIds);
  if (missing.length) {
    throw options.all || missing.length > 1 ? admin.missingError(missing) : CliError.tenantNotFound(missing[0]!);
  }
  const out = resolve(options.cwd ?? process.cwd(), options.out);
  const done = await admin.backup(tenantIds, { out, force: options.force === true }, (made: TenantBackup) => {
    if (!options.json) {
      io.out(`backed up ${made.tenantId} -> ${made.file} (${made.bytes} bytes)\n`);
    }
  });
  if (options.json) {
    io.out(`${JSON.stringify({ backups: done })}\n`);
  }
  return 0;
}

async function absent(tenancy: AdminTenancy, tenantIds: string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const id of tenantIds) {
    if (!await tenancy.tenantExists(id)) {
      missing.push(id);
    }
  }
  return missing;
}

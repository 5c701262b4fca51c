import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, promises as fsp, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { SQLITE_SIDE_FILES, createEmptyFile, placeNoOverwrite, removeDatabaseFiles } from '../tenant-files.js';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { backupDatabase } from './sqlite-copy.js';
import { everyTenant } from './tenant-status.js';

/** Options of {@link backup} (`mikro-tenant backup`). */
export interface BackupOptions {
  /** Folder for the copies (created if missing); relative to `cwd`. */
  out: string;
  /** Back up every registered tenant. @default false */
  all?: boolean;
  /** Replace existing backup files. @default false */
  force?: boolean;
  /** Print `{ backups: [{ tenantId, file, bytes }] }` on stdout. @default false */
  json?: boolean;
  /** Folder relative paths start from. @default process.cwd() */
  cwd?: string;
}

/**
 * `mikro-tenant backup [ID...] --out DIR` (or `--all`): consistent copies through SQLite's online backup
 * API, taken while the app keeps writing, each under the tenant's file name (in rollback-journal mode, so
 * each copy is one file). Everything is checked first
 * (ids, files, existing backups), so bad input copies nothing; an existing backup is never replaced
 * without `--force`.
 *
 * @throws CliError `ERR_USAGE`, `ERR_TENANT_NOT_FOUND`, `ERR_TENANT_FILE_MISSING`, `ERR_BACKUP_EXISTS`; TenantError `ERR_INVALID_TENANT_ID`
 */
export async function backup(tenancy: SqliteTenancy, ids: string[], options: BackupOptions, io: CliIo): Promise<number> {
  if (options.all && ids.length) {
    throw CliError.usage('give tenant ids or --all, not both');
  }
  const every = options.all ? await everyTenant(tenancy) : undefined;
  const tenantIds = every
    ? [...every.registered, ...every.unregistered]
    : [...new Set(ids.map(id => canonicalTenantId(id)))];
  if (!tenantIds.length) {
    throw options.all ? CliError.usage('no tenants are registered') : CliError.usage('name the tenants to back up, or pass --all');
  }
  const out = resolve(options.cwd ?? process.cwd(), options.out);
  const missing = tenantIds.filter(id => !existsSync(tenancy.files.path(id)));
  if (missing.length) {
    throw options.all || missing.length > 1 ? CliError.tenantFilesMissing(missing) : CliError.tenantNotFound(missing[0]!);
  }
  const plan = tenantIds.map(tenantId => ({ tenantId, source: tenancy.files.path(tenantId), file: join(out, tenancy.files.fileName(tenantId)) }));
  const inTheWay = options.force ? undefined : plan.find(p => existsSync(p.file));
  if (inTheWay) {
    throw CliError.backupExists(inTheWay.file);
  }
  // Copies of tenant data get the tenant folder's owner-only modes (an existing folder keeps its own).
  mkdirSync(out, { recursive: true, mode: tenancy.files.modes.dirMode });

  const done: { tenantId: string; file: string; bytes: number }[] = [];
  for (const { tenantId, source, file } of plan) {
    const tmp = join(out, `.${tenancy.files.fileName(tenantId)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
    try {
      createEmptyFile(tmp, tenancy.files.modes.fileMode);
      await backupDatabase(source, tmp, { selfContained: true });
    } catch (error) {
      await removeDatabaseFiles(tmp);
      throw error;
    }
    const bytes = statSync(tmp).size;
    if (options.force) {
      // An old copy's -wal/-shm (left by someone opening it) must not be applied to the new one.
      await Promise.all(SQLITE_SIDE_FILES.map(suffix => fsp.rm(file + suffix, { force: true })));
      renameSync(tmp, file);
    } else if (!await placeNoOverwrite(tmp, file)) {
      throw CliError.backupExists(file);
    }
    done.push({ tenantId, file, bytes });
    if (!options.json) {
      io.out(`backed up ${tenantId} -> ${file} (${bytes} bytes)\n`);
    }
  }
  if (options.json) {
    io.out(`${JSON.stringify({ backups: done })}\n`);
  }
  return 0;
}

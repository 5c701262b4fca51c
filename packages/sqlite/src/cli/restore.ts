import { existsSync, promises as fsp, renameSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { SQLITE_SIDE_FILES, placeNoOverwrite, removeDatabaseFiles } from '../tenant-files.js';
import { CliError, messageOf, oneLine } from './cli-error.js';
import type { CliIo } from './io.js';
import { backupDatabase } from './sqlite-copy.js';
import { pendingChanges } from './tenant-status.js';

/** Options of {@link restore} (`mikro-tenant restore`). */
export interface RestoreOptions {
  /** Replace an existing tenant's data (stop the app first). @default false */
  force?: boolean;
  /** Folder a relative FILE starts from. @default process.cwd() */
  cwd?: string;
}

/**
 * `mikro-tenant restore ID FILE [--force]`: checks that FILE is a sound SQLite database
 * (`pragma integrity_check`) before anything else, copies it through the backup API into the tenant
 * folder's `.mikro-tenant/tmp/`, removes the target's stale `-wal`/`-shm`/`-journal` and renames the copy
 * over the target (atomic), then registers the tenant. Refuses to replace an existing tenant without
 * `--force`. Connections of other processes are not closed: stop the app before restoring over a tenant.
 *
 * @throws TenantError `ERR_INVALID_TENANT_ID`; CliError `ERR_INVALID_BACKUP`, `ERR_TENANT_EXISTS`
 */
export async function restore(tenancy: SqliteTenancy, id: string, file: string, options: RestoreOptions, io: CliIo): Promise<number> {
  const tenantId = canonicalTenantId(id);
  const source = resolve(options.cwd ?? process.cwd(), file);
  const target = tenancy.files.path(tenantId);
  const db = openSoundDatabase(source);
  let tmp: string | undefined;
  try {
    if (existsSync(target) && !options.force) {
      throw CliError.tenantExists(tenantId, 'pass --force to replace its data (stop the app first)');
    }
    const version = lastMigration(db, tenancy);
    // Created empty with the tenant folder's file mode, which the copy keeps.
    tmp = tenancy.files.createTmpFile(`restore-${tenantId}`);
    await backupDatabase(db, tmp);
    db.close();
    if (options.force) {
      // A -wal left by the old data would be replayed onto the restored file: remove it first.
      await Promise.all(SQLITE_SIDE_FILES.map(suffix => fsp.rm(target + suffix, { force: true })));
      renameSync(tmp, target);
    } else if (!await placeNoOverwrite(tmp, target)) {
      throw CliError.tenantExists(tenantId, 'it appeared while restoring; nothing was replaced');
    }
    tmp = undefined;
    if (!await tenancy.registry.register({ tenantId, location: tenancy.files.fileName(tenantId), schemaVersion: version })) {
      await tenancy.registry.setSchemaVersion(tenantId, version);
    }
  } finally {
    if (db.open) {
      db.close();
    }
    if (tmp) {
      await removeDatabaseFiles(tmp);
    }
  }
  const pending = await pendingChanges(tenancy, tenantId);
  io.out(`restored ${tenantId} from ${source}${pending.length
    ? `; ${pending.length} pending migration${pending.length === 1 ? '' : 's'}: run mikro-tenant migrate --tenant ${tenantId}` : ''}\n`);
  return 0;
}

/** Opens FILE read-only and runs `pragma integrity_check`; the handle stays open for the copy. */
function openSoundDatabase(path: string): Database.Database {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw CliError.invalidBackup(path, 'no such file');
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    if (rows.length !== 1 || rows[0]!.integrity_check !== 'ok') {
      throw new Error(`integrity_check says: ${rows.slice(0, 3).map(r => r.integrity_check).join('; ')}`);
    }
    return db;
  } catch (error) {
    db?.close();
    throw CliError.invalidBackup(path, oneLine(messageOf(error)), error);
  }
}

/** The last migration recorded in the backup, for the registry; null when it has none (or uses entity schemas). */
function lastMigration(db: Database.Database, tenancy: SqliteTenancy): string | null {
  if (tenancy.schema.kind !== 'migrations') {
    return null;
  }
  const table = tenancy.options.migrations?.tableName ?? 'mikro_orm_migrations';
  try {
    const row = db.prepare(`select name from "${table.replace(/"/g, '""')}" order by id desc limit 1`).get() as { name?: string } | undefined;
    return row?.name ?? null;
  } catch {
    return null;
  }
}

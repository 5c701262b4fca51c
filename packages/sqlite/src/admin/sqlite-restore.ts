import { existsSync, promises as fsp, renameSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { TenantError, type TenantRegistry } from '@mikro-tenant/core';
import { SQLITE_SIDE_FILES, placeNoOverwrite, removeDatabaseFiles, type TenantFiles } from '../tenant-files.js';
import { backupDatabase } from './sqlite-copy.js';

/** What {@link restoreTenantFile} works with. */
export interface RestoreTarget {
  files: TenantFiles;
  registry: TenantRegistry;
  /** The tenant migrations' table, when tenants are migrated (the registry records the backup's last migration). */
  migrationsTable?: string;
}

/**
 * Restores a tenant file: checks that `source` is a sound SQLite database (`pragma integrity_check`)
 * before anything else, copies it through the backup API into the tenant folder's `.mikro-tenant/tmp/`,
 * removes the target's stale `-wal`/`-shm`/`-journal` and renames the copy over the target (atomic) when
 * `force`, else places it without ever overwriting; then registers the tenant. Connections of other
 * processes are not closed: stop the app before restoring over a tenant.
 *
 * @throws TenantError `ERR_INVALID_BACKUP`, `ERR_TENANT_EXISTS`
 */
export async function restoreTenantFile(target: RestoreTarget, tenantId: string, source: string, options: { force: boolean }): Promise<void> {
  const { files, registry } = target;
  const path = files.path(tenantId);
  const db = openSoundDatabase(source);
  let tmp: string | undefined;
  try {
    if (existsSync(path) && !options.force) {
      throw TenantError.tenantExists(tenantId);
    }
    const version = target.migrationsTable ? lastMigration(db, target.migrationsTable) : null;
    // Created empty with the tenant folder's file mode, which the copy keeps.
    tmp = files.createTmpFile(`restore-${tenantId}`);
    await backupDatabase(db, tmp);
    db.close();
    if (options.force) {
      // A -wal left by the old data would be replayed onto the restored file: remove it first.
      await Promise.all(SQLITE_SIDE_FILES.map(suffix => fsp.rm(path + suffix, { force: true })));
      renameSync(tmp, path);
    } else if (!await placeNoOverwrite(tmp, path)) {
      throw TenantError.tenantExists(tenantId);
    }
    tmp = undefined;
    if (!await registry.register({ tenantId, location: files.fileName(tenantId), schemaVersion: version })) {
      await registry.setSchemaVersion(tenantId, version);
    }
  } finally {
    if (db.open) {
      db.close();
    }
    if (tmp) {
      await removeDatabaseFiles(tmp);
    }
  }
}

/** Opens FILE read-only and runs `pragma integrity_check`; the handle stays open for the copy. */
function openSoundDatabase(path: string): Database.Database {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw TenantError.invalidBackup(path, 'no such file', 'SQLite database');
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
    throw TenantError.invalidBackup(path, (error as Error).message.replace(/\s*\n\s*/g, ' '), 'SQLite database', error);
  }
}

/** The last migration recorded in the backup, for the registry; null when it has none. */
function lastMigration(db: Database.Database, table: string): string | null {
  try {
    const row = db.prepare(`select name from "${table.replace(/"/g, '""')}" order by id desc limit 1`).get() as { name?: string } | undefined;
    return row?.name ?? null;
  } catch {
    return null;
  }
}

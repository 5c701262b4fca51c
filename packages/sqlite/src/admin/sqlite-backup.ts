import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, promises as fsp, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TenantError, type TenantBackup } from '@mikro-tenant/core';
import { SQLITE_SIDE_FILES, createEmptyFile, placeNoOverwrite, removeDatabaseFiles, type TenantFiles } from '../tenant-files.js';
import { backupDatabase } from './sqlite-copy.js';

/**
 * Consistent copies of tenant files through SQLite's online backup API, taken while the app keeps
 * writing, each under the tenant's file name in `out` (in rollback-journal mode, so each copy is one
 * file). Checks first that no copy is in the way (unless `force`), so nothing is copied then; each copy
 * is written to a temporary name and moved into place. The tenants' files must exist.
 * @throws TenantError `ERR_BACKUP_EXISTS`
 */
export async function backupTenantFiles(files: TenantFiles, tenantIds: string[], options: { out: string; force: boolean },
  onDone: (backup: TenantBackup) => void): Promise<TenantBackup[]> {
  const { out, force } = options;
  const plan = tenantIds.map(tenantId => ({ tenantId, source: files.path(tenantId), file: join(out, files.fileName(tenantId)) }));
  const inTheWay = force ? undefined : plan.find(p => existsSync(p.file));
  if (inTheWay) {
    throw TenantError.backupExists(inTheWay.file);
  }
  // Copies of tenant data get the tenant folder's owner-only modes (an existing folder keeps its own).
  mkdirSync(out, { recursive: true, mode: files.modes.dirMode });

  const done: TenantBackup[] = [];
  for (const { tenantId, source, file } of plan) {
    const tmp = join(out, `.${files.fileName(tenantId)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
    try {
      createEmptyFile(tmp, files.modes.fileMode);
      await backupDatabase(source, tmp, { selfContained: true });
    } catch (error) {
      await removeDatabaseFiles(tmp);
      throw error;
    }
    const bytes = statSync(tmp).size;
    if (force) {
      // An old copy's -wal/-shm (left by someone opening it) must not be applied to the new one.
      await Promise.all(SQLITE_SIDE_FILES.map(suffix => fsp.rm(file + suffix, { force: true })));
      renameSync(tmp, file);
    } else if (!await placeNoOverwrite(tmp, file)) {
      throw TenantError.backupExists(file);
    }
    const made = { tenantId, file, bytes };
    done.push(made);
    onDone(made);
  }
  return done;
}

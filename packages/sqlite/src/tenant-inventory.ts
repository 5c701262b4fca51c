import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DeferredTenantRegistry, TenantInfo, TenantRecord } from '@mikro-tenant/core';
import type { TenantFiles } from './tenant-files.js';

/** What {@link reconcileWithFolder} found when comparing the registry with the tenant folder. */
export interface ReconcileReport {
  /** Registered tenants whose database file is missing. */
  missingFiles: string[];
  /** Tenant files in the folder with no registry row. */
  unregistered: string[];
}

/** Registry rows with the size and modification time of their files (database plus `-wal`). */
export async function withFileStats(dir: string, records: TenantRecord[]): Promise<TenantInfo[]> {
  return Promise.all(records.map(async record => {
    const path = join(dir, record.location);
    const [db, wal] = await Promise.all([path, `${path}-wal`].map(p => fsp.stat(p).catch(() => undefined)));
    if (!db) {
      return record;
    }
    // Recent writes sit in the -wal file until a checkpoint: count them in.
    const modifiedAt = wal && wal.mtime > db.mtime ? wal.mtime : db.mtime;
    return { ...record, sizeBytes: db.size + (wal?.size ?? 0), modifiedAt };
  }));
}

/** Compares the registry with the files in the folder (a scan); with `fix`, registers stray files and drops rows without files. */
export async function reconcileWithFolder(files: TenantFiles, registry: DeferredTenantRegistry, fix: boolean): Promise<ReconcileReport> {
  const [records, ids] = await Promise.all([registry.list(), files.scan()]);
  const registered = new Set(records.map(r => r.tenantId));
  const present = new Set(ids);
  const report = {
    missingFiles: records.map(r => r.tenantId).filter(id => !present.has(id)),
    unregistered: ids.filter(id => !registered.has(id)),
  };
  if (fix) {
    for (const id of report.unregistered) {
      await registry.register({ tenantId: id, location: files.fileName(id), schemaVersion: null });
    }
    for (const id of report.missingFiles) {
      await registry.unregister(id);
    }
  }
  return report;
}

import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { placeNoOverwrite, removeDatabaseFiles } from '../tenant-files.js';
import { CliError, type CliIo } from './io.js';

/**
 * `mikro-tenant backup [ID...] --out DIR` (or `--all`): consistent copies through SQLite's online backup
 * API, taken while the app keeps writing; each lands under the tenant's file name, never over an
 * existing backup unless `--force`.
 */
export async function backup(tenancy: SqliteTenancy, ids: string[], options: { out: string; all?: boolean; force?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const targets = options.all ? (await tenancy.registry.list()).map(r => r.tenantId) : ids.map(id => canonicalTenantId(id));
  if (!targets.length) {
    throw new CliError('ERR_USAGE', 'name tenants to back up, or pass --all');
  }
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const done: { tenantId: string; file: string; bytes: number }[] = [];
  for (const tenantId of targets) {
    const source = tenancy.files.path(tenantId);
    if (!existsSync(source)) {
      throw Object.assign(new Error(`tenant "${tenantId}" has no database file`), { code: 'ERR_TENANT_NOT_FOUND' });
    }
    const target = join(out, tenancy.files.fileName(tenantId));
    if (existsSync(target) && !options.force) {
      throw new CliError('ERR_BACKUP_EXISTS', `${target} exists; pass --force to replace it`);
    }
    const tmp = join(out, `.${tenancy.files.fileName(tenantId)}.${process.pid}.partial`);
    const db = new Database(source, { readonly: true, fileMustExist: true });
    try {
      // Copy everything in one step: with steps, every write of the running app restarts the backup.
      const { totalPages } = await db.backup(tmp, { progress: ({ totalPages: pages }) => Math.max(pages, 1) * 2 });
      done.push({ tenantId, file: target, bytes: totalPages * (db.pragma('page_size', { simple: true }) as number) });
    } finally {
      db.close();
    }
    if (options.force) {
      renameSync(tmp, target);
    } else if (!await placeNoOverwrite(tmp, target)) {
      throw new CliError('ERR_BACKUP_EXISTS', `${target} appeared meanwhile; nothing was replaced`);
    }
    if (!options.json) {
      io.out(`backed up ${tenantId} -> ${target}\n`);
    }
  }
  if (options.json) {
    io.out(`${JSON.stringify({ backups: done })}\n`);
  }
  return 0;
}

/**
 * `mikro-tenant restore ID FILE [--force]`: checks FILE is a sound SQLite database, copies it through the
 * backup API into the tenant folder and puts it in place atomically; refuses to replace an existing
 * tenant without `--force` (stop the app first: open connections of other processes are not closed).
 */
export async function restore(tenancy: SqliteTenancy, id: string, file: string, options: { force?: boolean }, io: CliIo): Promise<number> {
  const tenantId = canonicalTenantId(id);
  const source = resolve(file);
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') {
      db.close();
      throw new Error(`integrity check says: ${String(integrity)}`);
    }
  } catch (error) {
    throw new CliError('ERR_INVALID_BACKUP', `${source} is not a sound SQLite database: ${(error as Error).message}`);
  }
  const target = tenancy.files.path(tenantId);
  const exists = existsSync(target);
  if (exists && !options.force) {
    db.close();
    throw Object.assign(new Error(`tenant "${tenantId}" exists; pass --force to replace its data`), { code: 'ERR_TENANT_EXISTS' });
  }
  tenancy.files.ensureDirs();
  const tmp = tenancy.files.tmpPath(`restore-${tenantId}`);
  try {
    await db.backup(tmp, { progress: ({ totalPages: pages }) => Math.max(pages, 1) * 2 });
  } finally {
    db.close();
  }
  if (exists) {
    await tenancy.deleteTenant(tenantId); // closes this process's connection, removes -wal/-shm of the old data
    renameSync(tmp, target);
  } else if (!await placeNoOverwrite(tmp, target)) {
    await removeDatabaseFiles(tmp);
    throw Object.assign(new Error(`tenant "${tenantId}" appeared meanwhile; nothing was replaced`), { code: 'ERR_TENANT_EXISTS' });
  }
  await tenancy.registry.register({ tenantId, location: tenancy.files.fileName(tenantId), schemaVersion: null });
  io.out(`restored ${tenantId} from ${source}\n`);
  return 0;
}

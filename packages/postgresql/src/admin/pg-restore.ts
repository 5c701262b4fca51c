import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, promises as fsp, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TenantError } from '@mikro-tenant/core';
import { quoteIdentifier } from '../identifiers.js';
import type { PgAdminContext } from './pg-admin-context.js';
import { findPgTool, runPgTool } from './pg-tools.js';

const WHAT = 'PostgreSQL backup of one tenant schema (pg_dump --schema, custom or plain format)';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Restores a tenant's schema from a `pg_dump --schema` backup (custom format through `pg_restore`, or
 * plain SQL), under the tenant's schema name whatever the schema's name in the backup, and registers it:
 * the backup's SQL, the renaming and the registry row run as one transaction of `psql
 * --single-transaction` (stopping at the first error), so a failed restore leaves no schema and no row.
 * Never replaces a tenant: an existing schema makes the transaction fail. While it runs, a live schema of
 * the backup's own name is moved aside inside the same transaction (other sessions never see it moved).
 * Runs the backup's SQL with the app's role: restore only backups you made.
 *
 * @throws TenantError `ERR_INVALID_BACKUP`, `ERR_BACKUP_TOOL_MISSING`, `ERR_TENANT_EXISTS`, `ERR_RESTORE_FAILED`
 */
export async function restoreTenantSchema(context: PgAdminContext, tenantId: string, file: string): Promise<void> {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw TenantError.invalidBackup(file, 'no such file', WHAT);
  }
  const major = await context.serverMajor();
  const psql = findPgTool('psql', major);
  const archive = startsWith(file, 'PGDMP');
  const pgRestore = archive ? findPgTool('pg_restore', major) : undefined;
  const target = context.schemaOf(tenantId);
  if (await schemaExists(context, target)) {
    throw TenantError.tenantExists(tenantId);
  }
  const work = mkdtempSync(join(tmpdir(), 'mikro-tenant-restore-'));
  try {
    let sql = file;
    if (pgRestore) {
      sql = join(work, 'backup.sql');
      await runPgTool(pgRestore, ['--no-owner', '--no-privileges', `--file=${sql}`, file], {}).catch((error: unknown) => {
        throw TenantError.invalidBackup(file, (error as Error).message, WHAT, error);
      });
    }
    const source = await backupSchema(sql, file);
    const hold = `mt_restore_${randomBytes(6).toString('hex')}`;
    const before = join(work, 'before.sql');
    const after = join(work, 'after.sql');
    await fsp.writeFile(before, source === target ? '' : moveIfExists(source, hold));
    await fsp.writeFile(after, [
      ...(source === target ? [] : [`alter schema ${quoteIdentifier(source)} rename to ${quoteIdentifier(target)};`, moveIfExists(hold, source)]),
      `${context.registry.upsertSql({ tenantId, location: target, createdAt: new Date(), schemaVersion: null })};`,
    ].join('\n'));
    try {
      await runPgTool(psql, ['--no-psqlrc', '--quiet', '--single-transaction', '--set=ON_ERROR_STOP=1', '--output=/dev/null',
        `--file=${before}`, `--file=${sql}`, `--file=${after}`], context.env());
    } catch (error) {
      // Rolled back: the schema exists now only if someone else made it meanwhile.
      throw await schemaExists(context, target) ? TenantError.tenantExists(tenantId) : TenantError.restoreFailed(tenantId, error);
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
  await recordVersion(context, tenantId, target);
}

/** The one schema a backup creates: from its `CREATE SCHEMA` statement (read line by line: dumps can be large). */
async function backupSchema(sql: string, file: string): Promise<string> {
  const names: string[] = [];
  for await (const line of createInterface({ input: createReadStream(sql), crlfDelay: Infinity })) {
    const match = /^CREATE SCHEMA (?:"([^"]+)"|([^\s;]+));$/i.exec(line);
    if (match) {
      names.push(match[1] ?? match[2]!);
    }
  }
  if (names.length !== 1 || !SCHEMA_NAME.test(names[0]!)) {
    throw TenantError.invalidBackup(file, names.length > 1 ? `it creates ${names.length} schemas, not one`
      : names.length ? `its schema name ${JSON.stringify(names[0])} is not one a tenant can have` : 'it creates no schema', WHAT);
  }
  return names[0]!;
}

function moveIfExists(schema: string, to: string): string {
  return `do $$ begin if exists (select 1 from pg_namespace where nspname = '${schema}') then `
    + `execute 'alter schema ${quoteIdentifier(schema)} rename to ${quoteIdentifier(to)}'; end if; end $$;`;
}

async function schemaExists(context: PgAdminContext, schema: string): Promise<boolean> {
  return (await context.execute<unknown[]>('select 1 from pg_namespace where nspname = ?', [schema])).length > 0;
}

/** The registry records the restored schema's last migration (a failure here changes nothing else). */
async function recordVersion(context: PgAdminContext, tenantId: string, schema: string): Promise<void> {
  if (!context.migrationsTable) {
    return;
  }
  const rows = await context.execute<{ name: string }[]>(
    `select name from ${quoteIdentifier(schema)}.${quoteIdentifier(context.migrationsTable)} order by id desc limit 1`).catch(() => []);
  await context.registry.setSchemaVersion(tenantId, rows[0]?.name ?? null);
}

function startsWith(file: string, magic: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(magic.length);
    return readSync(fd, buffer, 0, magic.length, 0) === magic.length && buffer.toString('latin1') === magic;
  } finally {
    closeSync(fd);
  }
}

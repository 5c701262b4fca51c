import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TenantError, type TenantBackup } from '@mikro-tenant/core';
import type { PgAdminContext } from './pg-admin-context.js';
import { findPgTool, runPgTool } from './pg-tools.js';

/** File name of a tenant's backup: its schema's name, `.dump` (pg_dump's custom format). */
export function backupFileName(schema: string): string {
  return `${schema}.dump`;
}

/**
 * One `pg_dump --format=custom --schema=<schema>` per tenant into `out`: a consistent snapshot of the
 * schema (pg_dump reads in one repeatable-read transaction) while the app keeps writing, without owners or
 * privileges (so it restores under any role). Checks first that `pg_dump` is there and no backup is in
 * the way (unless `force`); each dump is written to a temporary name and moved into place.
 * @throws TenantError `ERR_BACKUP_TOOL_MISSING`, `ERR_BACKUP_EXISTS`, `ERR_BACKUP_FAILED`
 */
export async function dumpTenantSchemas(context: PgAdminContext, tenantIds: string[], options: { out: string; force: boolean },
  onDone: (backup: TenantBackup) => void): Promise<TenantBackup[]> {
  const pgDump = findPgTool('pg_dump', await context.serverMajor());
  const plan = tenantIds.map(tenantId => {
    const schema = context.schemaOf(tenantId);
    return { tenantId, schema, file: join(options.out, backupFileName(schema)) };
  });
  const inTheWay = options.force ? undefined : plan.find(p => existsSync(p.file));
  if (inTheWay) {
    throw TenantError.backupExists(inTheWay.file);
  }
  mkdirSync(options.out, { recursive: true, mode: context.modes.dirMode });
  const done: TenantBackup[] = [];
  for (const { tenantId, schema, file } of plan) {
    const tmp = join(options.out, `.${backupFileName(schema)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
    try {
      await fsp.writeFile(tmp, '', { mode: context.modes.fileMode, flag: 'wx' });
      await runPgTool(pgDump, ['--format=custom', `--schema="${schema}"`, '--strict-names', '--no-owner', '--no-privileges', `--file=${tmp}`], context.env());
      await fsp.chmod(tmp, context.modes.fileMode);
      if (options.force) {
        await fsp.rename(tmp, file);
      } else {
        // A hard link never replaces an existing file: a backup that appeared meanwhile is kept.
        await fsp.link(tmp, file).catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST' ? TenantError.backupExists(file) : error;
        });
      }
    } catch (error) {
      throw error instanceof TenantError ? error : TenantError.backupFailed(tenantId, error);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    const made = { tenantId, file, bytes: (await fsp.stat(file)).size };
    done.push(made);
    onDone(made);
  }
  return done;
}

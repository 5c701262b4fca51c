import { resolve } from 'node:path';
import type { AdminTenancy } from '@mikro-tenant/core';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { pendingChanges, refuseUnsupported, tenantIdOf } from './tenant-status.js';

/** Options of {@link restore} (`mikro-tenant restore`). */
export interface RestoreOptions {
  /** Replace an existing tenant's data, where the strategy can (SQLite; stop the app first). @default false */
  force?: boolean;
  /** Folder a relative FILE starts from. @default process.cwd() */
  cwd?: string;
}

/**
 * `mikro-tenant restore ID FILE [--force]`: restores a tenant from a backup file through the strategy
 * (SQLite: checks and copies the file; PostgreSQL: replays the dump in one transaction), registers it and
 * says whether migrations are pending. An existing tenant is never replaced, unless `--force` on a strategy
 * that can (SQLite); a failed restore leaves nothing behind.
 *
 * @throws TenantError `ERR_NOT_SUPPORTED`, `ERR_INVALID_TENANT_ID`, `ERR_INVALID_BACKUP`, `ERR_BACKUP_TOOL_MISSING`, `ERR_RESTORE_FAILED`; CliError `ERR_TENANT_EXISTS`
 */
export async function restore(tenancy: AdminTenancy, id: string, file: string, options: RestoreOptions, io: CliIo): Promise<number> {
  refuseUnsupported(tenancy, 'restore');
  const tenantId = tenantIdOf(tenancy, id);
  const source = resolve(options.cwd ?? process.cwd(), file);
  const admin = tenancy.admin();
  const replace = options.force === true && admin.restoreCanReplace;
  if (!replace && await tenancy.tenantExists(tenantId)) {
    throw CliError.tenantExists(tenantId, admin.restoreCanReplace
      ? 'pass --force to replace its data (stop the app first)'
      : `delete it first (mikro-tenant delete ${tenantId}): restore never replaces a ${admin.storage}`);
  }
  await admin.restore(tenantId, source, { force: replace });
  const pending = await pendingChanges(tenancy, tenantId);
  io.out(`restored ${tenantId} from ${source}${pending.length
    ? `; ${pending.length} pending migration${pending.length === 1 ? '' : 's'}: run mikro-tenant migrate --tenant ${tenantId}` : ''}\n`);
  return 0;
}

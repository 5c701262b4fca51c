import { spawn } from 'node:child_process';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { CliError, type CliIo } from './io.js';

/** Environment variable naming the tenant for a script started by `mikro-tenant exec`. */
export const CLI_TENANT_ENV = 'MIKRO_TENANT_ID';

/**
 * `mikro-tenant exec ID -- command args...`: runs a command with `MIKRO_TENANT_ID` set to the tenant
 * (after checking the id and that the tenant exists); the script picks it up with `runAsCliTenant`.
 * Returns the command's exit code.
 */
export async function execForTenant(tenancy: SqliteTenancy, id: string, command: string[], io: CliIo): Promise<number> {
  const tenantId = canonicalTenantId(id);
  if (!await tenancy.tenantExists(tenantId)) {
    throw Object.assign(new Error(`tenant "${tenantId}" does not exist`), { code: 'ERR_TENANT_NOT_FOUND' });
  }
  if (!command.length) {
    throw new CliError('ERR_USAGE', 'give the command after --, e.g. mikro-tenant exec acme -- node script.js');
  }
  await tenancy.close(); // the script opens its own tenancy
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, [CLI_TENANT_ENV]: tenantId } });
    child.on('error', error => reject(new CliError('ERR_EXEC_FAILED', `cannot start ${command[0]}: ${error.message}`)));
    child.on('exit', (code, signal) => {
      if (signal) {
        io.err(`mikro-tenant: ${command[0]} ended by ${signal}\n`);
      }
      resolve(code ?? 1);
    });
  });
}

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { AdminTenancy } from '@mikro-tenant/core';
import { CliError } from './cli-error.js';
import type { CliIo } from './io.js';
import { tenantIdOf } from './tenant-status.js';

/** Environment variable naming the tenant for a command started by `mikro-tenant exec` (read by `runAsCliTenant`). */
export const CLI_TENANT_ENV = 'MIKRO_TENANT_ID';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `mikro-tenant exec ID -- command [args...]`: runs a command with `MIKRO_TENANT_ID` set to the tenant, after
 * checking the id and that the tenant exists; the script runs as that tenant with
 * `runAsCliTenant(tenancy, async em => ...)`. The CLI's own tenancy is closed first. Signals (Ctrl-C)
 * go to the command; resolves its exit code (128 + signal number when a signal ended it).
 *
 * @throws TenantError `ERR_INVALID_TENANT_ID`; CliError `ERR_TENANT_NOT_FOUND`, `ERR_USAGE`, `ERR_EXEC_FAILED`
 */
export async function execForTenant(tenancy: AdminTenancy, id: string, command: string[], io: CliIo): Promise<number> {
  const tenantId = tenantIdOf(tenancy, id);
  if (!command.length) {
    throw CliError.usage('give the command after --, e.g. mikro-tenant exec acme -- node script.js');
  }
  if (!await tenancy.tenantExists(tenantId)) {
    throw CliError.tenantNotFound(tenantId);
  }
  await tenancy.close(); // the command opens its own tenancy: hold no connection meanwhile
  const [file, ...args] = command as [string, ...string[]];
  return new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, [CLI_TENANT_ENV]: tenantId } });
    const forward = (signal: NodeJS.Signals) => { child.kill(signal); };
    for (const signal of FORWARDED_SIGNALS) {
      process.on(signal, forward);
    }
    const done = () => {
      for (const signal of FORWARDED_SIGNALS) {
        process.off(signal, forward);
      }
    };
    child.on('error', error => {
      done();
      reject(CliError.execFailed(file, error));
    });
    child.on('exit', (code, signal) => {
      done();
      if (signal) {
        io.err(`mikro-tenant: ${file} was ended by ${signal}\n`);
        resolve(128 + (osConstants.signals[signal] ?? 0));
      } else {
        resolve(code ?? 1);
      }
    });
  });
}

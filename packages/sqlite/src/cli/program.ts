import { Command, CommanderError } from 'commander';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { backup, restore } from './backup.js';
import { execForTenant } from './exec.js';
import { processIo, reportError, type CliIo } from './io.js';
import { findConfig, openTenancy } from './load-config.js';
import { checkMigrations, migrateAll } from './migrate.js';
import { createTenant, deleteTenant, listTenants, reconcile, template } from './tenant-commands.js';

/**
 * Runs the `mikro-tenant` command line (`argv` without `node` and the script) and resolves its exit
 * code. Every failure is one line on stderr: `mikro-tenant: <message> (<code>)`.
 */
export async function runCli(argv: string[], io: CliIo = processIo, cwd = process.cwd()): Promise<number> {
  let exitCode = 0;
  const withTenancy = (action: (tenancy: SqliteTenancy, configPath: string, ...args: any[]) => Promise<number>) =>
    async (...args: any[]) => {
      const command = args.at(-1) as Command;
      const configPath = findConfig(command.optsWithGlobals().config as string | undefined, cwd);
      const tenancy = await openTenancy(configPath);
      try {
        exitCode = await action(tenancy, configPath, ...args.slice(0, -1));
      } finally {
        await tenancy.close().catch(() => undefined);
      }
    };

  const program = new Command('mikro-tenant')
    .description('Manage the per-tenant SQLite databases of a mikro-tenant app.')
    .option('-c, --config <path>', 'config file (default: mikro-tenant.config.{ts,mts,js,mjs,cjs} in the working directory)')
    .exitOverride()
    .configureOutput({ writeOut: text => io.out(text), writeErr: text => io.err(text) })
    .showHelpAfterError();

  program.command('migrate')
    .description('apply pending migrations to every tenant (or --tenant), in parallel, each in its own transaction')
    .option('-t, --tenant <id>', 'only this tenant')
    .option('-n, --concurrency <n>', 'worker threads (default: number of cores)', parsePositive)
    .option('--check', 'write nothing; exit 1 and list tenants with pending migrations')
    .option('--json', 'machine-readable summary on stdout')
    .action(withTenancy((tenancy, configPath, opts: { tenant?: string; concurrency?: number; check?: boolean; json?: boolean }) => opts.check
      ? checkMigrations(tenancy, opts, io)
      : migrateAll(tenancy, { ...opts, configPath }, io)));

  program.command('list').description('tenants in the registry, with file size, last modification, pending migrations')
    .option('--json', 'JSON output')
    .action(withTenancy((tenancy, _c, opts: { json?: boolean }) => listTenants(tenancy, opts, io)));

  program.command('reconcile').description('registry rows without files and files without registry rows')
    .option('--fix', 'register stray files and drop rows without files')
    .option('--json', 'JSON output')
    .action(withTenancy((tenancy, _c, opts: { fix?: boolean; json?: boolean }) => reconcile(tenancy, opts, io)));

  program.command('create <id>').description('create a tenant now (never overwrites)')
    .action(withTenancy((tenancy, _c, id: string) => createTenant(tenancy, id, io)));

  program.command('delete <id>').description('delete a tenant with all its data (asks first unless --yes)')
    .option('-y, --yes', 'do not ask')
    .action(withTenancy((tenancy, _c, id: string, opts: { yes?: boolean }) => deleteTenant(tenancy, id, opts, io)));

  program.command('template <action>').description('build or clear the template database (build|clear)')
    .action(withTenancy((tenancy, _c, action: string) => template(tenancy, action, io)));

  program.command('backup [ids...]').description('consistent copies through SQLite\'s online backup API')
    .requiredOption('-o, --out <dir>', 'folder for the copies')
    .option('--all', 'every registered tenant')
    .option('--force', 'replace existing backups')
    .option('--json', 'JSON output')
    .action(withTenancy((tenancy, _c, ids: string[], opts: { out: string; all?: boolean; force?: boolean; json?: boolean }) => backup(tenancy, ids, opts, io)));

  program.command('restore <id> <file>').description('restore a tenant from a backup file (refuses to replace without --force)')
    .option('--force', 'replace an existing tenant (stop the app first)')
    .action(withTenancy((tenancy, _c, id: string, file: string, opts: { force?: boolean }) => restore(tenancy, id, file, opts, io)));

  program.command('exec <id> <command...>').description('run a command with MIKRO_TENANT_ID set (use -- before the command)')
    .action(withTenancy((tenancy, _c, id: string, command: string[]) => execForTenant(tenancy, id, command, io)));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(io, error);
  }
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new CommanderError(2, 'ERR_USAGE', `expected a positive whole number, got "${value}"`);
  }
  return n;
}

import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import { canonicalTenantId, type AdminTenancy } from '@mikro-tenant/core';
import { backup } from './backup.js';
import { CliError, EXIT_USAGE, reportError } from './cli-error.js';
import { execForTenant } from './exec.js';
import { processIo, type CliIo } from './io.js';
import { findConfig, loadConfig, startTenancy } from './load-config.js';
import { checkMigrations, printCheckReport } from './migrate-check.js';
import { migrateAll, printMigrateSummary } from './migrate.js';
import { restore } from './restore.js';
import { createTenant, deleteTenant, listTenants, printTenantList, reconcile, template } from './tenant-commands.js';

type Action = (tenancy: AdminTenancy, context: { configPath: string; cwd: string }, ...args: any[]) => Promise<number>;
/** What a read-only command prints when the shared database does not exist yet (no tenants; nothing is created). */
type WithoutSharedDb = (...args: any[]) => number;

/**
 * Runs the `mikro-tenant` command line and resolves its exit code: 0 done, 1 failed (one line on stderr,
 * `mikro-tenant: <message> (<code>)`), 2 bad usage; `exec` passes on its command's code. `main.js` is
 * `process.exitCode = await runCli(process.argv.slice(2))`.
 *
 * @param argv the arguments after `node` and the script, e.g. `['migrate', '--check']`
 * @param io where output goes and how questions are asked @default the process's streams
 * @param cwd where the config file is looked for and relative paths start @default process.cwd()
 * @example
 * const exitCode = await runCli(['migrate', '--json', '--concurrency', '2'], io, projectDir);
 */
export async function runCli(argv: string[], io: CliIo = processIo, cwd = process.cwd()): Promise<number> {
  let exitCode = 0;
  const withTenancy = (action: Action, withoutSharedDb?: WithoutSharedDb) => async (...args: any[]) => {
    const command = args.at(-1) as Command;
    const configPath = findConfig(command.optsWithGlobals().config as string | undefined, cwd);
    const config = await loadConfig(configPath);
    const noSharedStorage = withoutSharedDb ? config.entry.missingSharedStorage?.(config.options, config.strategy) : undefined;
    if (withoutSharedDb && noSharedStorage) {
      // Reading commands must not leave a new shared database behind (a mistyped DATA_DIR, a fresh install).
      exitCode = withoutSharedDb(...args.slice(0, -1));
      io.err(`mikro-tenant: ${noSharedStorage}, so no tenants (check the config and DATA_DIR if that is unexpected)\n`);
      return;
    }
    const tenancy = await startTenancy(config);
    try {
      exitCode = await action(tenancy, { configPath, cwd }, ...args.slice(0, -1));
    } finally {
      await tenancy.close().catch(() => undefined);
    }
  };

  const program = new Command('mikro-tenant')
    .description('Manage the tenants of a mikro-tenant app: SQLite files, PostgreSQL schemas or rows in shared tables (see the README of @mikro-tenant/cli).')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <path>', 'config file (default: mikro-tenant.config.{ts,mts,js,mjs,cjs} in the working directory)')
    .exitOverride()
    .configureOutput({
      writeOut: text => io.out(text),
      writeErr: text => io.err(text),
      outputError: text => io.err(`mikro-tenant: ${text.replace(/^error: /, '').trim()}; see --help (ERR_USAGE)\n`),
    });

  program.command('migrate')
    .description('apply pending migrations to every tenant (or --tenant), in parallel, each tenant in its own transaction')
    .option('-t, --tenant <id>', 'only this tenant')
    .option('-n, --concurrency <n>', 'tenants at once: worker processes (SQLite) or connections (PostgreSQL) (default: the number of cores)', parsePositive)
    .option('--check', 'write nothing; list tenants with pending migrations and exit 1 if there are any')
    .option('--json', 'machine-readable summary on stdout')
    .action(withTenancy((tenancy, { configPath }, opts: { tenant?: string; concurrency?: number; check?: boolean; json?: boolean }) =>
      opts.check ? checkMigrations(tenancy, opts, io) : migrateAll(tenancy, { ...opts, configPath }, io),
    (opts: { tenant?: string; check?: boolean; json?: boolean }) => {
      if (opts.tenant !== undefined) {
        throw CliError.tenantNotFound(canonicalTenantId(opts.tenant));
      }
      if (opts.check) {
        printCheckReport({ checked: 0, pending: [], missing: [], errors: [] }, opts.json === true, io);
      } else {
        printMigrateSummary({ migrated: [], failed: [], upToDate: 0, workers: 0, durationMs: 0, template: null, events: [] }, opts.json === true, io);
      }
      return 0;
    }));

  program.command('list').description('registered tenants with storage size, last modification and pending migrations')
    .option('--json', 'JSON output')
    .action(withTenancy((tenancy, _, opts: { json?: boolean }) => listTenants(tenancy, opts, io),
      (opts: { json?: boolean }) => {
        printTenantList([], opts.json === true, io);
        return 0;
      }));

  program.command('reconcile').description('registry rows without storage (file, schema) and storage without registry rows (exit 1 if any)')
    .option('--fix', 'register stray storage and drop rows without storage')
    .option('--json', 'JSON output')
    .action(withTenancy((tenancy, _, opts: { fix?: boolean; json?: boolean }) => reconcile(tenancy, opts, io)));

  program.command('create').description('create a tenant now (never overwrites)')
    .argument('<id>', 'tenant id')
    .action(withTenancy((tenancy, _, id: string) => createTenant(tenancy, id, io)));

  program.command('delete').description('delete a tenant with all its data (asks on a terminal, else needs --yes)')
    .argument('<id>', 'tenant id')
    .option('-y, --yes', 'do not ask')
    .action(withTenancy((tenancy, _, id: string, opts: { yes?: boolean }) => deleteTenant(tenancy, id, opts, io)));

  program.command('template').description('build the template database now, or remove it (SQLite)')
    .addArgument(new Argument('<action>').choices(['build', 'clear']))
    .action(withTenancy((tenancy, _, action: string) => template(tenancy, action, io)));

  program.command('backup').description('consistent backups while the app keeps writing (SQLite\'s online backup API, pg_dump -n)')
    .argument('[ids...]', 'tenant ids')
    .requiredOption('-o, --out <dir>', 'folder for the copies')
    .option('--all', 'every registered tenant')
    .option('--force', 'replace existing backup files')
    .option('--json', 'JSON output')
    .action(withTenancy((tenancy, { cwd: base }, ids: string[], opts: { out: string; all?: boolean; force?: boolean; json?: boolean }) =>
      backup(tenancy, ids, { ...opts, cwd: base }, io)));

  program.command('restore').description('restore a tenant from a backup file (never over an existing tenant, but with --force on SQLite; stop the app first)')
    .argument('<id>', 'tenant id')
    .argument('<file>', 'backup file (SQLite database, pg_dump archive or SQL)')
    .option('--force', 'replace an existing tenant\'s data (SQLite only)')
    .action(withTenancy((tenancy, { cwd: base }, id: string, file: string, opts: { force?: boolean }) =>
      restore(tenancy, id, file, { ...opts, cwd: base }, io)));

  program.command('exec').description('run a command with MIKRO_TENANT_ID set to the tenant: exec ID -- node script.js')
    .argument('<id>', 'tenant id')
    .argument('<command...>', 'the command and its arguments, after --')
    .action(withTenancy((tenancy, _, id: string, command: string[]) => execForTenant(tenancy, id, command, io)));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander has already printed its one-line error otherwise.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(io, error);
  }
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a positive whole number.');
  }
  return n;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import { canonicalTenantId } from '@mikro-tenant/core';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import type { CliIo } from './io.js';

/** What happened to one tenant in a migrate run. */
export interface TenantMigrationOutcome {
  tenantId: string;
  status: 'migrated' | 'up-to-date' | 'failed';
  /** Migrations applied now. */
  executed: string[];
  /** Why it failed (the tenant was rolled back). */
  error?: string;
}

/** Options of {@link migrateAll}. */
export interface MigrateOptions {
  /** Only this tenant. */
  tenant?: string;
  /** Parallel workers (threads); 1 migrates in this thread. @default the number of cores */
  concurrency?: number;
  /** Print a machine-readable summary on stdout. @default false */
  json?: boolean;
  /** Needed by the worker threads to start their own tenancy. */
  configPath: string;
}

/** Summary of a migrate run (`--json` prints it). */
export interface MigrateSummary {
  migrated: { tenantId: string; executed: string[] }[];
  failed: { tenantId: string; error: string }[];
  upToDate: number;
  durationMs: number;
}

/**
 * `mikro-tenant migrate`: applies pending migrations to every registered tenant (or `--tenant`), each in
 * its own transaction, in parallel worker threads; a failing tenant is rolled back and reported while
 * the others go on. Rebuilds the template afterwards. Returns the exit code (1 if any tenant failed).
 */
export async function migrateAll(tenancy: SqliteTenancy, options: MigrateOptions, io: CliIo): Promise<number> {
  const started = Date.now();
  const ids = await targetTenants(tenancy, options.tenant);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? availableParallelism(), ids.length || 1));
  const progress = startProgress(io, ids.length, options.json === true);
  const outcomes: TenantMigrationOutcome[] = [];
  const onOutcome = (outcome: TenantMigrationOutcome) => {
    outcomes.push(outcome);
    progress.tick(outcome);
  };
  if (concurrency === 1) {
    for (const tenantId of ids) {
      try {
        const { executed } = await tenancy.migrateTenant(tenantId);
        onOutcome({ tenantId, status: executed.length ? 'migrated' : 'up-to-date', executed });
      } catch (error) {
        onOutcome({ tenantId, status: 'failed', executed: [], error: (error as Error).message });
      }
    }
  } else {
    await inWorkers(ids, concurrency, options.configPath, onOutcome);
  }
  progress.stop();
  await tenancy.clearTemplate();
  await tenancy.buildTemplate();
  const summary: MigrateSummary = {
    migrated: outcomes.filter(o => o.status === 'migrated').map(o => ({ tenantId: o.tenantId, executed: o.executed })),
    failed: outcomes.filter(o => o.status === 'failed').map(o => ({ tenantId: o.tenantId, error: o.error ?? '' })),
    upToDate: outcomes.filter(o => o.status === 'up-to-date').length,
    durationMs: Date.now() - started,
  };
  if (options.json) {
    io.out(`${JSON.stringify(summary)}\n`);
  } else {
    io.out(`migrated ${summary.migrated.length}, up to date ${summary.upToDate}, failed ${summary.failed.length} of ${ids.length} tenants in ${summary.durationMs} ms\n`);
    for (const failure of summary.failed) {
      io.out(`failed: ${failure.tenantId}: ${failure.error}\n`);
    }
  }
  return summary.failed.length ? 1 : 0;
}

/**
 * `mikro-tenant migrate --check`: writes nothing; lists tenants with pending migrations and returns 1
 * if there are any (drift detection for deploy scripts).
 */
export async function checkMigrations(tenancy: SqliteTenancy, options: { tenant?: string; json?: boolean }, io: CliIo): Promise<number> {
  const ids = await targetTenants(tenancy, options.tenant);
  const pending: { tenantId: string; pending: string[] }[] = [];
  for (const tenantId of ids) {
    const names = await tenancy.pendingMigrations(tenantId);
    if (names.length) {
      pending.push({ tenantId, pending: names });
    }
  }
  if (options.json) {
    io.out(`${JSON.stringify({ checked: ids.length, pending })}\n`);
  } else if (pending.length) {
    for (const entry of pending) {
      io.out(`${entry.tenantId}: ${entry.pending.join(', ')}\n`);
    }
    io.out(`${pending.length} of ${ids.length} tenants have pending migrations\n`);
  } else {
    io.out(`all ${ids.length} tenants are up to date\n`);
  }
  return pending.length ? 1 : 0;
}

async function targetTenants(tenancy: SqliteTenancy, tenant: string | undefined): Promise<string[]> {
  if (tenant !== undefined) {
    const id = canonicalTenantId(tenant);
    if (!await tenancy.tenantExists(id)) {
      throw Object.assign(new Error(`tenant "${id}" does not exist`), { code: 'ERR_TENANT_NOT_FOUND' });
    }
    return [id];
  }
  return (await tenancy.registry.list()).map(r => r.tenantId);
}

/** Hands tenants one at a time to `concurrency` worker threads until all are done. */
async function inWorkers(ids: string[], concurrency: number, configPath: string, onOutcome: (o: TenantMigrationOutcome) => void): Promise<void> {
  const queue = [...ids];
  const workerUrl = new URL('./migrate-worker.js', import.meta.url);
  const workers: Worker[] = [];
  await Promise.all(Array.from({ length: concurrency }, () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: { configPath } });
    workers.push(worker);
    let current: string | undefined;
    const next = () => {
      current = queue.shift();
      worker.postMessage(current === undefined ? { stop: true } : { tenantId: current });
    };
    worker.on('message', (message: TenantMigrationOutcome | { ready: true }) => {
      if ('tenantId' in message) {
        onOutcome(message);
      }
      next();
    });
    worker.on('error', error => {
      if (current !== undefined) {
        onOutcome({ tenantId: current, status: 'failed', executed: [], error: `worker crashed: ${error.message}` });
      }
      queue.length = 0;
      for (const other of workers) {
        void other.terminate();
      }
      reject(error);
    });
    worker.on('exit', () => resolve());
  })));
}

/** A progress bar on a terminal; otherwise (or with --json, whose stdout is the summary) one line per tenant on stderr. */
function startProgress(io: CliIo, total: number, json: boolean): { tick(outcome: TenantMigrationOutcome): void; stop(): void } {
  if (io.interactive && !json) {
    const bar = new cliProgress.SingleBar({
      format: 'migrating [{bar}] {value}/{total} tenants | {percentage}% | ETA {eta_formatted} | failed {failed}',
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic);
    let failed = 0;
    bar.start(total, 0, { failed });
    return {
      tick: outcome => {
        failed += outcome.status === 'failed' ? 1 : 0;
        bar.increment(1, { failed });
      },
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  return {
    tick: outcome => {
      done++;
      io.err(`[${done}/${total}] ${outcome.tenantId}: ${outcome.status}${outcome.executed.length ? ` (${outcome.executed.join(', ')})` : ''}${outcome.error ? `: ${outcome.error}` : ''}\n`);
    },
    stop: () => undefined,
  };
}

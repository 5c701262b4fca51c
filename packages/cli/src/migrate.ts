import { availableParallelism } from 'node:os';
import type { AdminTenancy, TenancyEvent } from '@mikro-tenant/core';
import { CliError, messageOf, oneLine } from './cli-error.js';
import type { CliIo } from './io.js';
import { MigrationEvents } from './migrate-events.js';
import { migrateInWorkers } from './migrate-pool.js';
import { startProgress } from './migrate-progress.js';
import { migrateAdaptively, migrateConcurrently, migrateInProcess } from './migrate-schedule.js';
import { SchemaVersionRecorder, failedOutcome, type TenantMigrationOutcome } from './migrate-tenant.js';
import { targetTenants } from './tenant-status.js';

/** Options of {@link migrateAll} (`mikro-tenant migrate`). */
export interface MigrateOptions {
  /** Only this tenant. @default every registered tenant */
  tenant?: string;
  /**
   * Tenants migrated in parallel. SQLite: worker processes, each tenant in one of them; 1 (or a single
   * tenant) migrates in this process. PostgreSQL: concurrent migrations in this process, each on its own
   * pooled connection. @default the number of cores; SQLite's workers start only when the run is long
   * enough to repay their start-up (this process migrates meanwhile, and alone when the run is short)
   */
  concurrency?: number;
  /** Print the {@link MigrateSummary} as JSON on stdout. @default false */
  json?: boolean;
  /** The config file, which each worker process loads to start its own tenancy. */
  configPath: string;
}

/** Summary of a `migrate` run; `--json` prints it. */
export interface MigrateSummary {
  /** Tenants that had migrations applied now. */
  migrated: { tenantId: string; executed: string[] }[];
  /** Tenants that failed (each rolled back), and registered tenants without their storage (file, schema). */
  failed: { tenantId: string; error: string; code: string }[];
  /** How many tenants had nothing to apply. */
  upToDate: number;
  /** Worker processes started (0: the tenants were migrated in the main process). */
  workers: number;
  /** Wall-clock time of the run, template rebuild included. */
  durationMs: number;
  /** The template file after the rebuild (`null` with `template: false`, and for strategies without templates). */
  template: string | null;
  /** Why the template could not be rebuilt (the run then exits 1). */
  templateError?: string;
  /** The tenancy's `tenantMigrated` / `tenantMigrationFailed` event of each tenant migrated or failed, as its subscribers got them. */
  events: TenancyEvent[];
}

/**
 * `mikro-tenant migrate`: applies pending migrations to every registered tenant (or `--tenant`), each in
 * its own transaction, in parallel (worker processes for SQLite, connections for PostgreSQL). A failing
 * tenant is rolled back and reported while the others go on; SQLite's template is rebuilt afterwards. Resolves the exit code: 1 if any tenant failed.
 *
 * @throws CliError `ERR_USAGE` for a bad concurrency, `ERR_TENANT_NOT_FOUND`, `ERR_WORKER_FAILED`; TenantError `ERR_INVALID_TENANT_ID`
 * @example
 * process.exitCode = await migrateAll(tenancy, { configPath, concurrency: 4 }, processIo);
 */
export async function migrateAll(tenancy: AdminTenancy, options: MigrateOptions, io: CliIo): Promise<number> {
  const requested = options.concurrency ?? availableParallelism();
  if (!Number.isInteger(requested) || requested < 1) {
    throw CliError.usage(`--concurrency must be a positive whole number, not ${String(options.concurrency)}`);
  }
  const started = Date.now();
  const { present, missing } = await targetTenants(tenancy, options.tenant);
  // After the checks: a refused request stays one line on stderr.
  const note = tenancy.admin().migrateNote;
  if (note) {
    io.err(`mikro-tenant: ${note}\n`);
  }
  const outcomes: TenantMigrationOutcome[] = [];
  let workers = 0;
  const progress = startProgress(io, present.length + missing.length);
  const admin = tenancy.admin();
  const versions = new SchemaVersionRecorder(tenancy);
  const events = await MigrationEvents.start(tenancy);
  const onOutcome = (outcome: TenantMigrationOutcome) => {
    outcomes.push(outcome);
    events.add(outcome);
    if (outcome.status !== 'failed') {
      versions.add(outcome.tenantId, outcome.version ?? null);
    }
    progress.tick(outcome);
  };
  try {
    for (const tenantId of missing) {
      onOutcome(failedOutcome(tenantId, admin.missingError([tenantId])));
    }
    const concurrency = Math.min(requested, present.length);
    const queue = [...present];
    // One tenant, or --concurrency 1: a worker's start (loading MikroORM again) would cost more than it saves.
    if (admin.parallelism === 'connections') {
      await migrateConcurrently(tenancy, queue, concurrency, onOutcome);
    } else if (concurrency <= 1) {
      for (const tenantId of queue) {
        onOutcome(await migrateInProcess(tenancy, tenantId));
      }
    } else if (options.concurrency !== undefined) {
      workers = await migrateInWorkers(queue, { concurrency, configPath: options.configPath }, onOutcome);
    } else {
      workers = await migrateAdaptively(tenancy, queue, { concurrency, configPath: options.configPath }, onOutcome);
    }
  } finally {
    progress.stop();
    await versions.flush();
  }

  const summary: MigrateSummary = {
    migrated: outcomes.filter(o => o.status === 'migrated').map(o => ({ tenantId: o.tenantId, executed: o.executed })),
    failed: outcomes.filter(o => o.status === 'failed').map(o => ({ tenantId: o.tenantId, error: o.error ?? '', code: o.code ?? 'ERR_UNEXPECTED' })),
    upToDate: outcomes.filter(o => o.status === 'up-to-date').length,
    workers,
    durationMs: 0,
    template: null,
    events: events.events,
  };
  try {
    summary.template = (await admin.afterMigrate?.()) ?? null;
  } catch (error) {
    summary.templateError = oneLine(messageOf(error));
  }
  summary.durationMs = Date.now() - started;
  printMigrateSummary(summary, options.json === true, io);
  return summary.failed.length || summary.templateError ? 1 : 0;
}

/** Prints a migrate summary: JSON on one line, or a count line and one line per failed tenant. */
export function printMigrateSummary(summary: MigrateSummary, json: boolean, io: CliIo): void {
  if (json) {
    io.out(`${JSON.stringify(summary)}\n`);
    return;
  }
  const { migrated, upToDate, failed, durationMs } = summary;
  const total = migrated.length + upToDate + failed.length;
  io.out(`migrated ${migrated.length}, up to date ${upToDate}, failed ${failed.length} of ${total} tenants in ${durationMs} ms\n`);
  for (const failure of failed) {
    io.out(`failed: ${failure.tenantId}: ${failure.error} (${failure.code})\n`);
  }
  if (summary.templateError) {
    io.out(`template not rebuilt: ${summary.templateError}\n`);
  }
}

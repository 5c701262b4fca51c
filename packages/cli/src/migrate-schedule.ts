import type { AdminTenancy } from '@mikro-tenant/core';
import { migrateInWorkers } from './migrate-pool.js';
import { migrateOneTenant, type TenantMigrationOutcome } from './migrate-tenant.js';

/** Tenants migrated in this process before the time per tenant is trusted (the first ones warm up the code)... */
const SAMPLE = 4;
/** ...and how long they must have taken together, so that a few slow ones on a busy machine decide nothing. */
const SAMPLE_MS = 250;
/** Workers start only if they promise to save at least this share of the remaining time. */
const MIN_SAVING = 0.25;
/**
 * What a worker's start costs the run, in ms: it loads Node, MikroORM and the config and starts its
 * tenancy (about half a second on a small machine), taking CPU from this process meanwhile.
 */
const WORKER_START_MS = 1000;

/** What a migration that calls `process.exit()` in the main process throws instead of ending it. */
class MigrationCalledExit extends Error {
  constructor(readonly exitCode: unknown) {
    super(`its migration called process.exit(${exitCode === undefined ? '' : String(exitCode)}); nothing of it was committed`);
    this.name = 'MigrationCalledExit';
  }
}

/**
 * Migrates one tenant in this process, as a worker would: a migration that calls `process.exit()` fails
 * its tenant (rolled back) instead of ending the run. Never throws.
 */
export function migrateInProcess(tenancy: AdminTenancy, tenantId: string): Promise<TenantMigrationOutcome> {
  return withExitRefused(() => migrateOneTenant(tenancy, tenantId));
}

/**
 * Migrates `queue` in this process, up to `concurrency` tenants at once (for strategies whose driver is
 * asynchronous: each migration waits on its own pooled connection). A migration that calls
 * `process.exit()` fails its tenant only. Never throws.
 */
export function migrateConcurrently(tenancy: AdminTenancy, queue: string[], concurrency: number,
  onOutcome: (outcome: TenantMigrationOutcome) => void): Promise<void> {
  return withExitRefused(async () => {
    const lane = async () => {
      for (let tenantId = queue.shift(); tenantId !== undefined; tenantId = queue.shift()) {
        onOutcome(await migrateOneTenant(tenancy, tenantId));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  });
}

async function withExitRefused<T>(fn: () => Promise<T>): Promise<T> {
  const exit = process.exit;
  process.exit = ((code?: unknown) => {
    throw new MigrationCalledExit(code);
  }) as typeof process.exit;
  try {
    return await fn();
  } finally {
    process.exit = exit;
  }
}

/** Options of {@link migrateAdaptively}. */
export interface AdaptiveOptions {
  /** Worker processes to start if the run is long enough. */
  concurrency: number;
  /** Config file each worker loads. */
  configPath: string;
  /** What a worker's start is taken to cost the run, in ms. @default 1000 */
  workerStartMs?: number;
}

/**
 * Migrates `queue` starting at once in this process, and starts `concurrency` worker processes only when
 * the time per tenant measured so far says they would shorten the run by at least a quarter, counting
 * their start-up: a short run (few tenants, cheap migrations) never waits for workers, a long one gets
 * them. Once a worker is ready this process stops taking tenants and only hands them out, so from then on
 * a migration that crashes its process fails only its tenant. Resolves how many workers were started.
 */
export async function migrateAdaptively(tenancy: AdminTenancy, queue: string[], options: AdaptiveOptions,
  onOutcome: (outcome: TenantMigrationOutcome) => void): Promise<number> {
  let pool: Promise<number> | undefined;
  const emptied = new AbortController();
  let handedOver = false;
  let done = 0;
  let sampleStart = 0;
  while (queue.length && !handedOver) {
    onOutcome(await migrateInProcess(tenancy, queue.shift()!));
    done++;
    if (done === 1) {
      sampleStart = performance.now();
    }
    const sampled = performance.now() - sampleStart;
    if (!pool && done > SAMPLE && sampled >= SAMPLE_MS && queue.length) {
      const perTenant = sampled / (done - 1);
      const alone = queue.length * perTenant;
      const withWorkers = (options.workerStartMs ?? WORKER_START_MS) + alone / options.concurrency;
      if (withWorkers < alone * (1 - MIN_SAVING)) {
        pool = migrateInWorkers(queue, {
          concurrency: options.concurrency, configPath: options.configPath, signal: emptied.signal, onReady: () => { handedOver = true; },
        }, onOutcome);
        // A worker that cannot start ends the run (as with --concurrency); this process stops taking tenants then too.
        pool.catch(() => { handedOver = true; });
      }
    }
  }
  if (!handedOver) {
    // This process got through the queue before any worker was ready: they are not needed.
    emptied.abort();
  }
  return pool ? pool : 0;
}

import { Worker } from 'node:worker_threads';
import { CliError } from './cli-error.js';
import { failedOutcome, type TenantMigrationOutcome } from './migrate-tenant.js';

/** Options of {@link migrateInWorkers}. */
export interface WorkerPoolOptions {
  /** Worker threads to start (at most one per tenant is useful). */
  concurrency: number;
  /** Config file each worker loads to start its own tenancy. */
  configPath: string;
  /** The worker's module. @default `./migrate-worker.js` next to this file */
  workerUrl?: URL;
}

type WorkerMessage = TenantMigrationOutcome | { ready: true } | { startupError: string; code?: string };

/**
 * Hands tenants one at a time to `concurrency` worker threads until every one has an outcome; resolves
 * how many workers were started (replacements included).
 * A worker that dies while migrating a tenant (a crash, `process.exit` in a migration) fails that tenant
 * only: its transaction was never committed, a new worker takes its place, the others go on.
 *
 * @throws CliError `ERR_WORKER_FAILED` when a worker cannot start (e.g. the config fails in a thread): no
 * further tenants are handed out, the ones in flight finish (and are reported), then the run stops
 */
export function migrateInWorkers(ids: string[], options: WorkerPoolOptions, onOutcome: (outcome: TenantMigrationOutcome) => void): Promise<number> {
  const queue = [...ids];
  const workerUrl = options.workerUrl ?? new URL('./migrate-worker.js', import.meta.url);
  let startupError: CliError | undefined;
  let live = 0;
  let started = 0;

  return new Promise<number>((resolve, reject) => {
    const finishIfIdle = () => {
      if (live === 0) {
        if (startupError) {
          reject(startupError);
        } else {
          resolve(started);
        }
      }
    };

    const startWorker = () => {
      live++;
      started++;
      const worker = new Worker(workerUrl, { workerData: { configPath: options.configPath } });
      let ready = false;
      let current: string | undefined;
      let crash: Error | undefined;
      const handOut = () => {
        current = startupError ? undefined : queue.shift();
        worker.postMessage(current === undefined ? { stop: true } : { tenantId: current });
      };
      worker.on('message', (message: WorkerMessage) => {
        if ('ready' in message) {
          ready = true;
          handOut();
        } else if ('startupError' in message) {
          startupError ??= CliError.workerFailed(Object.assign(new Error(message.startupError), { code: message.code }));
        } else {
          current = undefined;
          onOutcome(message);
          handOut();
        }
      });
      worker.on('error', error => {
        crash = error;
      });
      worker.on('exit', exitCode => {
        live--;
        if (current !== undefined) {
          const why = crash ? `crashed: ${crash.message}` : `exited with code ${exitCode}`;
          onOutcome(failedOutcome(current, new Error(`its migration worker ${why}; nothing of it was committed`), 'ERR_WORKER_FAILED'));
          current = undefined;
          if (queue.length && !startupError) {
            startWorker();
          }
        } else if (!ready && !startupError && exitCode !== 0) {
          startupError = CliError.workerFailed(crash ?? new Error(`it exited with code ${exitCode}`));
        }
        finishIfIdle();
      });
    };

    for (let i = 0; i < Math.max(1, options.concurrency); i++) {
      startWorker();
    }
  });
}

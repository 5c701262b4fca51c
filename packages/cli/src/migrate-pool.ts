import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.js';
import { failedOutcome, type TenantMigrationOutcome } from './migrate-tenant.js';

/** Options of {@link migrateInWorkers}. */
export interface WorkerPoolOptions {
  /** Worker processes to start (at most one per tenant is useful). */
  concurrency: number;
  /** Config file each worker loads to start its own tenancy. */
  configPath: string;
  /** The worker's module. @default `./migrate-worker.js` next to this file */
  workerUrl?: URL;
  /** Called once, when the first worker is ready to take tenants. */
  onReady?: () => void;
  /** Once aborted, workers still starting are stopped (for a caller that emptied the queue itself meanwhile). */
  signal?: AbortSignal;
}

type WorkerMessage = TenantMigrationOutcome | { ready: true } | { startupError: string; code?: string };

/** Most of a worker's stderr kept to explain its death. */
const STDERR_TAIL = 2000;
/**
 * Tenants handed to a worker ahead of its outcomes: the next one is there when a migration ends, so a
 * worker never idles through a round trip of messages (on a busy machine each wake-up of a process can
 * wait milliseconds for a core). Outcomes come back in the order the tenants were handed out.
 */
const AHEAD = 2;

/**
 * Hands tenants to `concurrency` worker processes, a couple ahead, until `queue` is empty and every tenant
 * handed out has an outcome; resolves how many workers were started (replacements included). The workers
 * take tenants from `queue` itself, which the caller may keep taking from as well (the main process
 * migrating while the workers start).
 *
 * Processes, not threads: SQLite serialises file opens, closes and locks of one process on process-wide
 * mutexes, so two threads migrating tenant files got about 1.3 times the work of one done, two processes
 * about twice. A worker that dies while migrating a tenant (a crash, `process.exit` in a migration) fails
 * that tenant only: its transaction was never committed, a new worker takes its place, the others go on.
 *
 * @throws CliError `ERR_WORKER_FAILED` when a worker cannot start (e.g. the config fails in it): no
 * further tenants are handed out, the ones in flight finish (and are reported), then the run stops
 */
export function migrateInWorkers(queue: string[], options: WorkerPoolOptions, onOutcome: (outcome: TenantMigrationOutcome) => void): Promise<number> {
  let anyReady = false;
  const workerPath = fileURLToPath(options.workerUrl ?? new URL('./migrate-worker.js', import.meta.url));
  let startupError: CliError | undefined;
  let live = 0;
  let started = 0;
  /** Workers still loading, killed if the caller aborts: nothing is left for them. */
  const starting = new Set<ReturnType<typeof fork>>();
  options.signal?.addEventListener('abort', () => {
    for (const worker of starting) {
      worker.kill();
    }
  }, { once: true });

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
      const worker = fork(workerPath, [options.configPath], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      starting.add(worker);
      let ready = false;
      /** Tenants handed to this worker and not answered yet, in order: the first is the one it is migrating. */
      const outstanding: string[] = [];
      let stopped = false;
      let stderr = '';
      worker.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_TAIL);
      });
      const handOut = () => {
        while (!startupError && outstanding.length < AHEAD && queue.length) {
          const tenantId = queue.shift()!;
          outstanding.push(tenantId);
          worker.send({ tenantId });
        }
        if (outstanding.length === 0 && !stopped) {
          stopped = true;
          worker.send({ stop: true });
        }
      };
      worker.on('message', (message: WorkerMessage) => {
        if ('ready' in message) {
          ready = true;
          starting.delete(worker);
          if (!anyReady) {
            anyReady = true;
            options.onReady?.();
          }
          handOut();
        } else if ('startupError' in message) {
          startupError ??= CliError.workerFailed(Object.assign(new Error(message.startupError), { code: message.code }));
        } else {
          outstanding.splice(outstanding.indexOf(message.tenantId), 1);
          onOutcome(message);
          handOut();
        }
      });
      worker.on('error', error => {
        stderr = `${stderr}\n${error.message}`.slice(-STDERR_TAIL);
      });
      // 'close', not 'exit': it comes after the IPC channel closed, so every outcome the worker sent is in.
      worker.on('close', (exitCode, signal) => {
        live--;
        starting.delete(worker);
        const why = signal ? `was killed (${signal})` : `exited with code ${exitCode}`;
        const said = lastLine(stderr);
        const [current, ...notStarted] = outstanding.splice(0);
        if (current !== undefined) {
          onOutcome(failedOutcome(current, new Error(`its migration worker ${why}${said ? `: ${said}` : ''}; nothing of it was committed`), 'ERR_WORKER_FAILED'));
          // Handed out but not begun: back to the front of the queue for the others.
          queue.unshift(...notStarted);
          if (queue.length && !startupError) {
            startWorker();
          }
        } else if (!ready && !startupError && exitCode !== 0 && !options.signal?.aborted) {
          startupError = CliError.workerFailed(new Error(said || `it ${why}`));
        }
        finishIfIdle();
      });
    };

    for (let i = 0; i < Math.max(1, options.concurrency); i++) {
      startWorker();
    }
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(line => line.trim()).at(-1)?.trim() ?? '';
}

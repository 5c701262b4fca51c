import cliProgress from 'cli-progress';
import type { CliIo } from './io.js';
import type { TenantMigrationOutcome } from './migrate-tenant.js';

/** Reports tenants as they finish. */
export interface MigrateProgress {
  /** One tenant finished. */
  tick(outcome: TenantMigrationOutcome): void;
  /** The run is over (removes nothing already printed). */
  stop(): void;
}

/**
 * A progress bar with count and ETA on `process.stderr` when `io.progressBar` (stderr is a terminal);
 * otherwise one plain line per tenant through `io.err`. Standard output stays free for the summary.
 */
export function startProgress(io: CliIo, total: number): MigrateProgress {
  if (io.progressBar && total > 0) {
    const bar = new cliProgress.SingleBar({
      format: 'migrating [{bar}] {value}/{total} tenants | {percentage}% | ETA {eta_formatted} | failed {failed}',
      stream: process.stderr,
      hideCursor: true,
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
      const executed = outcome.executed.length ? ` (${outcome.executed.join(', ')})` : '';
      const error = outcome.error ? `: ${outcome.error}` : '';
      io.err(`[${done}/${total}] ${outcome.tenantId}: ${outcome.status}${executed}${error}\n`);
    },
    stop: () => undefined,
  };
}

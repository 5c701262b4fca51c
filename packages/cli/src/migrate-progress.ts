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

/** Plain progress lines are written together when this much time has passed since the last write... */
const LINES_EVERY_MS = 100;
/** ...or this many characters wait. */
const LINES_BUFFERED = 16_384;

/**
 * A progress bar with count and ETA on `process.stderr` when `io.progressBar` (stderr is a terminal);
 * otherwise one plain line per tenant through `io.err`, the lines of tenants finishing within 100 ms of
 * each other written together (a write per tenant to a pipe cost as much as migrating a small tenant).
 * Standard output stays free for the summary.
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
  let lines = '';
  let written = Date.now();
  const flush = () => {
    if (lines) {
      io.err(lines);
      lines = '';
    }
    written = Date.now();
  };
  return {
    tick: outcome => {
      done++;
      const executed = outcome.executed.length ? ` (${outcome.executed.join(', ')})` : '';
      const error = outcome.error ? `: ${outcome.error}` : '';
      lines += `[${done}/${total}] ${outcome.tenantId}: ${outcome.status}${executed}${error}\n`;
      if (lines.length >= LINES_BUFFERED || Date.now() - written >= LINES_EVERY_MS) {
        flush();
      }
    },
    stop: flush,
  };
}

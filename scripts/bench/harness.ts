/**
 * Shared benchmark machinery: timing, alternating A/B rounds, medians, process figures and the report.
 * Every figure is a ratio of two things measured in the same process and run, alternating sides each
 * round (ABBA order) so drift and noise of a shared machine hit both sides alike.
 */
import { accessSync, constants as fsConstants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Utils } from '@mikro-orm/core';

/** What a scenario gets from the runner. */
export interface BenchContext {
  /** Smoke mode: fewer rounds, shorter runs (figures not meaningful). */
  readonly quick: boolean;
  /** A fresh temporary folder for this scenario, removed afterwards. */
  readonly dir: string;
  /** Progress line on stderr. */
  log(message: string): void;
}

/** A goal on a ratio: `>=` value or `<=` value. */
export interface Goal {
  op: '>=' | '<=';
  value: number;
}

/** One row of the report (and one element of `bench/results.json`). */
export interface BenchEntry {
  /** Scenario name (as given to `--only`). */
  scenario: string;
  /** What this row measures. */
  name: string;
  /** What the ratio is relative to. */
  baseline: string;
  /** Median of the per-round ratios. */
  ratio: number;
  /** The goal, as text (`>= 0.95`). */
  goal: string;
  met: boolean;
  /** Absolute medians for context, each with its unit in the key (`us`, `req/s`, `MiB`...). */
  medians: Record<string, number>;
  /** How many rounds the ratio is the median of. */
  rounds: number;
  /**
   * Anything else worth keeping. `note` is printed under Notes; `remaining` (the time the row lacks, as
   * measured, and what would remove it) is printed when the goal is not met.
   */
  detail?: Record<string, unknown>;
}

/** A scenario module's default export. */
export interface Scenario {
  name: string;
  title: string;
  /** Node options the scenario's process needs (e.g. `--expose-gc`). */
  nodeOptions?: string[];
  run(ctx: BenchContext): Promise<BenchEntry[]>;
}

/** Microseconds since an arbitrary point (monotonic). */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/** Runs `fn` `n` times in sequence and returns microseconds per call. */
export async function perCallUs(n: number, fn: (i: number) => unknown): Promise<number> {
  const start = nowUs();
  for (let i = 0; i < n; i++) {
    await fn(i);
  }
  return (nowUs() - start) / n;
}

/** Median of a list (mean of the two middle values for even lengths). */
export function median(values: number[]): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Samples per side, and the per-round ratios `a / b`. */
export interface Alternated {
  a: number[];
  b: number[];
  /** a[i] / b[i] per round. */
  ratios: number[];
}

/**
 * Measures two sides in `rounds` rounds, in ABBA order (A first in even rounds, B first in odd ones).
 * Each side returns one number per call (a time per operation, a throughput...). `between` runs untimed
 * after every round (e.g. to reset state).
 */
export async function alternate(rounds: number, a: (round: number) => Promise<number>, b: (round: number) => Promise<number>,
  between?: (round: number) => Promise<void>): Promise<Alternated> {
  const out: Alternated = { a: [], b: [], ratios: [] };
  for (let round = 0; round < rounds; round++) {
    let va: number;
    let vb: number;
    if (round % 2 === 0) {
      va = await a(round);
      vb = await b(round);
    } else {
      vb = await b(round);
      va = await a(round);
    }
    out.a.push(va);
    out.b.push(vb);
    out.ratios.push(va / vb);
    await between?.(round);
  }
  return out;
}

/** Builds a report row; `met` follows from the ratio and the goal. */
export function entry(init: Omit<BenchEntry, 'goal' | 'met' | 'ratio'> & { ratio: number; goal: Goal }): BenchEntry {
  const ratio = round3(init.ratio);
  const met = init.goal.op === '>=' ? ratio >= init.goal.value : ratio <= init.goal.value;
  const medians = Object.fromEntries(Object.entries(init.medians).map(([k, v]) => [k, round3(v)]));
  return { ...init, ratio, medians, goal: `${init.goal.op} ${init.goal.value}`, met };
}

/**
 * Time per operation a `<=` goal leaves unmet, from the row's ratio (ours / baseline): what ours would have
 * to lose to reach the goal, `(ratio - goal) * baseline` (0 when met).
 */
export function excessTime(ratio: number, goal: number, baseline: number): number {
  return Math.max(0, (ratio - goal) * baseline);
}

/** The same for a `>=` speed-up (ratio = baseline time / our time): `baseline / ratio - baseline / goal`. */
export function excessTimeOfSpeedup(ratio: number, goal: number, baseline: number): number {
  return Math.max(0, baseline / ratio - baseline / goal);
}

/** The same for a `>=` throughput ratio (ours / baseline req/s), per request in us: `1e6 / (ratio * rate) - 1e6 / (goal * rate)`. */
export function excessUsPerRequest(ratio: number, goal: number, baselineRate: number): number {
  return Math.max(0, 1e6 / (ratio * baselineRate) - 1e6 / (goal * baselineRate));
}

/** Rounds to 3 significant decimals for the report. */
export function round3(value: number): number {
  if (!Number.isFinite(value)) {
    return value;
  }
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 3 : 4;
  return Number(value.toFixed(digits));
}

/**
 * Where benchmark files go: `BENCH_DIR` if set, else `/dev/shm` (a tmpfs) when writable, else the OS temp
 * folder. A tmpfs keeps the figures about this library's CPU cost: on the shared disk, SQLite's creation
 * and removal of `-wal`/`-shm` files per open/close varies 3x between runs with the other engineers' I/O.
 */
export function benchBaseDir(): string {
  if (process.env.BENCH_DIR) {
    return process.env.BENCH_DIR;
  }
  try {
    accessSync('/dev/shm', fsConstants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** A fresh temporary folder under {@link benchBaseDir}. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(benchBaseDir(), `mt-bench-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Open file descriptors of this process (Linux: entries of /proc/self/fd). */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return Number.NaN;
  }
}

/** CPU time of this process (all its threads, user and system), in microseconds. */
export function processCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * CPU time of every process named `name` on this machine (Linux `/proc`), in microseconds at the clock
 * tick's resolution (10 ms); NaN where `/proc` is missing. For a database server's backends.
 */
export function processesCpuUs(name: string): number {
  let ticks = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) {
        continue;
      }
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== name) {
          continue;
        }
        const fields = stat.slice(close + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return Number.NaN;
  }
  return ticks * 10_000;
}

/** Forces a full garbage collection when the process runs with `--expose-gc` (twice: weak callbacks run between). */
export async function gc(): Promise<void> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) {
    return;
  }
  collect();
  await new Promise(resolve => setImmediate(resolve));
  collect();
}

export const MiB = 1024 * 1024;

/** The results file of the installed MikroORM major: `results.json` (6, this repository's install) or `results-mikro-orm-7.json`. */
export function resultsFile(): string {
  return ormMajor() === 6 ? 'results.json' : `results-mikro-orm-${ormMajor()}.json`;
}

/** The installed MikroORM major (6 or 7): the scenarios' explanations differ where the library's path does. */
export function ormMajor(): number {
  return Number.parseInt(Utils.getORMVersion(), 10);
}

/** How one run went, kept per major in `runs.json` so the report names both. */
interface RunMeta {
  writtenAt: string;
  durationS: number;
  node: string;
  mikroOrm: string;
  quick: boolean;
  baseDir: string;
  /** Scenarios rerun with `--only` since the full run (whose date and duration the fields above keep). */
  reruns?: { scenarios: string[]; writtenAt: string; durationS: number }[];
}

function readJson<T>(path: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/**
 * Writes this major's rows to its results file and `RESULTS.md` from the rows of both majors: MikroORM 6.6
 * (`npm run bench`) and 7 (`npm run bench:mikro-orm-7`), side by side, each row's ratio on each.
 */
export function writeReport(outDir: string, entries: BenchEntry[], meta: { quick: boolean; startedAt: Date; durationS: number; baseDir: string; only?: string[] }): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, resultsFile()), `${JSON.stringify(entries, null, 2)}\n`);
  const runs = readJson<Record<string, RunMeta>>(join(outDir, 'runs.json'), {});
  const previous = runs[String(ormMajor())];
  const run = { writtenAt: meta.startedAt.toISOString(), durationS: Math.round(meta.durationS) };
  // A rerun of some scenarios keeps the full run's date and duration, and says which rows are newer.
  runs[String(ormMajor())] = meta.only && previous && previous.mikroOrm === Utils.getORMVersion() && !previous.quick && !meta.quick
    ? { ...previous, reruns: [...previous.reruns ?? [], { scenarios: meta.only, ...run }] }
    : { ...run, node: process.version, mikroOrm: Utils.getORMVersion(), quick: meta.quick, baseDir: meta.baseDir };
  writeFileSync(join(outDir, 'runs.json'), `${JSON.stringify(runs, null, 2)}\n`);
  const six = readJson<BenchEntry[]>(join(outDir, 'results.json'), []);
  const seven = readJson<BenchEntry[]>(join(outDir, 'results-mikro-orm-7.json'), []);
  const key = (e: BenchEntry) => `${e.scenario}\u0000${e.name}`;
  const sevenByKey = new Map(seven.map(e => [key(e), e]));
  const rows = [...six, ...seven.filter(e => !six.some(x => key(x) === key(e)))];
  const cells = (e: BenchEntry | undefined) => (e ? `${e.ratio} | ${e.met ? 'yes' : '**no**'}` : 'not run | ');
  const lines = [
    '# mikro-tenant benchmarks',
    '',
    ...Object.entries(runs).sort().map(([major, run]) => `MikroORM ${run.mikroOrm} (major ${major}): written by \`npm run bench${major === '6' ? '' : `:mikro-orm-${major}`}\``
      + `${run.quick ? ' --quick (smoke run: figures are not meaningful)' : ''} on ${run.writtenAt} in ${run.durationS} s; Node ${run.node};`
      + ` ${process.platform}/${process.arch}, ${cpus().length} cores; database files in ${run.baseDir} (BENCH_DIR to change).`
      + (run.reruns ?? []).map(r => ` Rerun with \`--only ${r.scenarios.join(',')}\` on ${r.writtenAt} in ${r.durationS} s.`).join('')),
    '',
    'Each ratio is the median of per-round ratios of two things measured in the same process, alternating',
    'sides each round (ABBA). The machine is shared and noisy: compare ratios, not absolute figures. Each',
    'major runs the same scenarios on its own install (6: this repository\'s; 7: `scripts/mikro-orm-7/`,',
    'Node 22); a ratio compares the library with plain MikroORM (or SQLite) of the same major.',
    '',
    '| scenario | measure | baseline | goal | 6.6 ratio | met | 7 ratio | met | medians on 6.6 | medians on 7 |',
    '|---|---|---|---|---:|:-:|---:|:-:|---|---|',
  ];
  const medians = (e: BenchEntry | undefined) => (e ? Object.entries(e.medians).map(([k, v]) => `${k} ${v}`).join('; ') : '');
  for (const e of rows) {
    const sixRow = six.find(x => key(x) === key(e));
    const sevenRow = sevenByKey.get(key(e));
    lines.push(`| ${e.scenario} | ${e.name} | ${e.baseline} | ${e.goal} | ${cells(sixRow)} | ${cells(sevenRow)} | ${medians(sixRow)} | ${medians(sevenRow)} |`);
  }
  lines.push('', `Details per row are in \`results.json\` (6) and \`results-mikro-orm-7.json\` (7).`, '');
  for (const [label, list] of [['6.6', six], ['7', seven]] as const) {
    const unmet = list.filter(e => !e.met);
    if (unmet.length) {
      lines.push(`## Rows not met on MikroORM ${label}: the time that remains, and what would remove it`, '');
      for (const e of unmet) {
        const remaining = typeof e.detail?.remaining === 'string' ? e.detail.remaining : 'no explanation was recorded for this row';
        lines.push(`- **${e.scenario}, ${e.name}** (${e.ratio}, goal ${e.goal}): ${remaining}`);
      }
      lines.push('');
    }
  }
  const notes = rows.map(e => six.find(x => key(x) === key(e)) ?? sevenByKey.get(key(e))!).filter(e => typeof e.detail?.note === 'string');
  if (notes.length) {
    lines.push('## Notes', '');
    for (const e of notes) {
      lines.push(`- **${e.scenario}, ${e.name}**: ${String(e.detail!.note)}`);
    }
    lines.push('');
  }
  writeFileSync(join(outDir, 'RESULTS.md'), lines.join('\n'));
}

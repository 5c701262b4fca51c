/**
 * `npm run bench [-- --quick] [-- --only NAME[,NAME]]`: runs each scenario in its own Node process (so
 * memory and file-descriptor figures start clean) and writes `bench/RESULTS.md` and the installed MikroORM
 * major's results (`bench/results.json` for 6, `bench/results-mikro-orm-7.json` for 7: `npm run bench:mikro-orm-7`).
 * `--quick` is a smoke run (about a minute for all, every scenario in this process) and writes to
 * `bench/quick/` instead; `--only`
 * replaces just those scenarios' rows in the existing results.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchBaseDir, resultsFile, tempDir, writeReport, type BenchEntry, type Scenario } from './harness.js';

/** Scenario names in report order; each is `scripts/bench/<name>.ts`. */
export const SCENARIOS = ['http', 'writes', 'warm-em', 'cold-open', 'provisioning', 'churn', 'tenant-count', 'memory', 'migrate-all', 'migrate-heavy', 'pg-schema', 'pg-row', 'operating'] as const;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

async function loadScenario(name: string): Promise<Scenario> {
  const module = await import(pathToFileURL(join(here, `${name}.ts`)).href) as { default: Scenario };
  return module.default;
}

/** Child mode: runs one scenario in this process and writes its rows to `out`. */
async function child(name: string, quick: boolean, out: string): Promise<void> {
  const scenario = await loadScenario(name);
  const { dir, cleanup } = tempDir(name);
  try {
    const entries = await scenario.run({ quick, dir, log: message => process.stderr.write(`  [${name}] ${message}\n`) });
    writeFileSync(out, JSON.stringify(entries));
  } finally {
    cleanup();
  }
}

/** Runs a scenario in this process (quick mode). */
async function inProcess(scenario: Scenario): Promise<BenchEntry[]> {
  const { dir, cleanup } = tempDir(scenario.name);
  try {
    return await scenario.run({ quick: true, dir, log: message => process.stderr.write(`  [${scenario.name}] ${message}\n`) });
  } finally {
    cleanup();
  }
}

function runChild(name: string, quick: boolean, nodeOptions: string[]): Promise<BenchEntry[]> {
  const { dir, cleanup } = tempDir('out');
  const out = join(dir, 'entries.json');
  const args = [...process.execArgv, ...nodeOptions, fileURLToPath(import.meta.url), '--child', name, '--out', out, ...(quick ? ['--quick'] : [])];
  return new Promise<BenchEntry[]>((resolvePromise, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
    proc.on('error', reject);
    proc.on('exit', code => {
      try {
        if (code !== 0 || !existsSync(out)) {
          reject(new Error(`scenario ${name} exited with code ${code}`));
          return;
        }
        resolvePromise(JSON.parse(readFileSync(out, 'utf8')) as BenchEntry[]);
      } finally {
        cleanup();
      }
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const childName = flag('--child');
  if (childName) {
    await child(childName, quick, flag('--out')!);
    return;
  }
  const only = flag('--only')?.split(',').map(s => s.trim()).filter(Boolean);
  for (const name of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new Error(`unknown scenario "${name}"; one of ${SCENARIOS.join(', ')}`);
    }
  }
  const names = only ?? [...SCENARIOS];
  const outDir = join(root, 'bench', quick ? 'quick' : '');
  const startedAt = new Date();
  const fresh: BenchEntry[] = [];
  let failed = 0;
  for (const name of names) {
    const t0 = Date.now();
    try {
      // A scenario whose code cannot load on this major (a package not ported yet) fails alone.
      const scenario = await loadScenario(name);
      process.stderr.write(`${name}: ${scenario.title}\n`);
      // A smoke run spares the process start per scenario: its figures are not meaningful anyway.
      const entries = quick ? await inProcess(scenario) : await runChild(name, quick, scenario.nodeOptions ?? []);
      fresh.push(...entries);
      for (const e of entries) {
        process.stderr.write(`  ${e.met ? 'met    ' : 'NOT MET'} ${e.name}: ${e.ratio} (goal ${e.goal}) ${JSON.stringify(e.medians)}\n`);
      }
    } catch (error) {
      failed++;
      process.stderr.write(`  ${name} FAILED: ${(error as Error).message}\n`);
    }
    process.stderr.write(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  // --only keeps the other scenarios' rows of the previous run.
  const previous = only && existsSync(join(outDir, resultsFile()))
    ? (JSON.parse(readFileSync(join(outDir, resultsFile()), 'utf8')) as BenchEntry[]).filter(e => !names.includes(e.scenario))
    : [];
  const all = [...previous, ...fresh].sort((x, y) => SCENARIOS.indexOf(x.scenario as never) - SCENARIOS.indexOf(y.scenario as never));
  if (quick) {
    rmSync(outDir, { recursive: true, force: true });
  }
  writeReport(outDir, all, { quick, startedAt, durationS: (Date.now() - startedAt.getTime()) / 1000, baseDir: benchBaseDir(), only });
  process.stderr.write(`wrote ${join(outDir, 'RESULTS.md')}\n`);
  process.exitCode = failed ? 1 : 0;
}

await main();

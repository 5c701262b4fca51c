import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/** `npm run test:soak` sets MIKRO_TENANT_SOAK=1 for the full sizes; `npm test` runs the reduced ones. */
export const SOAK = process.env.MIKRO_TENANT_SOAK === '1';

/** Picks the reduced size for `npm test`, the full one for the soak run. */
export function size(quick: number, soak: number): number {
  return SOAK ? soak : quick;
}

/** Prints a scenario's figure (each reliability scenario reports what it measured). */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const text = Object.entries(figures).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 100) / 100 : String(v)}`).join(' ');
  process.stdout.write(`      [reliability] ${scenario}: ${text}\n`);
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** A child process running test/reliability/child.ts. */
export interface Child {
  /** Resolves once the child printed "ready" (or exited). */
  ready: Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** Starts a child: `args` are passed to child.ts (root dir, mode, ids, ...). */
export function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>(resolve => { markReady = resolve; });
  child.stdout.on('data', chunk => {
    stdout += chunk;
    if (stdout.includes('ready')) {
      markReady();
    }
  });
  child.stderr.on('data', chunk => { stderr += chunk; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(resolve => {
    child.on('exit', (code, signal) => { markReady(); resolve({ code, signal, stdout, stderr }); });
  });
  return { ready, done, kill: () => child.kill('SIGKILL') };
}

/** Last JSON line a child printed. */
export function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').filter(line => line.startsWith('{')).at(-1)!) as T;
}

/** Opens a tenant file read-only and says whether it is complete: integrity ok and every migration recorded. */
export function inspectTenantFile(file: string, expectedMigrations: string[]): { ok: boolean; reason?: string } {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') {
      return { ok: false, reason: `integrity: ${String(integrity)}` };
    }
    const names = (db.prepare('select name from mikro_orm_migrations order by id').all() as { name: string }[]).map(r => r.name);
    if (JSON.stringify(names) !== JSON.stringify(expectedMigrations)) {
      return { ok: false, reason: `migrations: ${names.join(',')}` };
    }
    db.prepare('select count(*) from note').get();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  } finally {
    db?.close();
  }
}

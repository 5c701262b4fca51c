import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { findPgTool } from '../../../packages/postgresql/dist/admin/pg-tools.js';
import { pgServer, serverVersion } from '../server.js';

/** A server whose version the client programs on this machine (`pg_dump`, `pg_restore`, `psql`) can work with. */
export interface BackupServer {
  /** Superuser URL of its `postgres` database. */
  readonly url: string;
  /** E.g. `15.18`. */
  readonly version: string;
  /** Stops it if it was started for the backup tests. */
  stop(): Promise<void>;
}

/**
 * The test server when the client programs found on this machine fit its version; otherwise a throwaway
 * server of Debian's PostgreSQL (`/usr/lib/postgresql/<major>/bin`, as `.ci/with-postgres15` starts one)
 * whose version they fit: `pg_dump` refuses servers newer than itself, and the embedded server has no
 * client programs. Fails (never skips) when neither is possible.
 */
export async function backupServer(): Promise<BackupServer> {
  const server = await pgServer();
  try {
    findPgTool('pg_dump', Number.parseInt(server.version, 10));
    return { url: server.url, version: server.version, stop: async () => undefined };
  } catch {
    // The client programs are older than the test server: start one they fit.
  }
  const root = '/usr/lib/postgresql';
  const major = existsSync(root) ? readdirSync(root).filter(m => existsSync(join(root, m, 'bin', 'initdb')) && existsSync(join(root, m, 'bin', 'pg_dump')))
    .sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!major) {
    throw new Error(`no PostgreSQL client programs fit the test server ${server.version}, and no Debian PostgreSQL server is installed `
      + 'to run the backup tests on: apt-get install postgresql-15 (or set MIKRO_TENANT_PG_URL to a server pg_dump on PATH can dump)');
  }
  return startDebianServer(join(root, major, 'bin'));
}

async function startDebianServer(bin: string): Promise<BackupServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mt-pg-backup-'));
  chmodSync(dir, 0o755);
  const root = userInfo().uid === 0;
  // PostgreSQL refuses to run as root: as root, run it as the postgres user.
  const run = (file: string, args: string[]) => execFileSync(root ? 'runuser' : file, root ? ['-u', 'postgres', '--', file, ...args] : args, { stdio: 'pipe' });
  if (root) {
    execFileSync('chown', ['postgres:', dir]);
  }
  const port = await freePort();
  const stop = async () => {
    try {
      run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    } catch {
      // Not running.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off`, 'start']);
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const version = await serverVersion(url);
  process.stdout.write(`      postgres: server ${version} (Debian, for the backup tests: the client programs here are older than the test server)\n`);
  return { url, version, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

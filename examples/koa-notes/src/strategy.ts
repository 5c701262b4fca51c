import { createRequire } from 'node:module';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import type { RowTenancy } from '@mikro-tenant/row';
import { SqliteTenancy, type Tenancy, type TenancyRegistry } from '@mikro-tenant/sqlite';
import { appRoleUrl, startEmbeddedPostgres } from './postgres-server.js';
import { postgresRowTenancyConfig, postgresTenancyConfig, sqliteRowTenancyConfig, tenancyConfig } from './tenancy-config.js';

/**
 * Where the app keeps its tenants: a SQLite file per user, a PostgreSQL schema per user, or every user's
 * notes in one shared table told apart by a tenant column (on SQLite, or on PostgreSQL with row level security).
 */
export type Strategy = 'sqlite' | 'pg-schema' | 'sqlite-row' | 'pg-row';

const STRATEGIES: readonly Strategy[] = ['sqlite', 'pg-schema', 'sqlite-row', 'pg-row'];

/** What the app uses of its tenancy, whichever the strategy. */
export interface NotesTenancy extends Tenancy<SqlEntityManager> {
  readonly orm: MikroORM<AbstractSqlDriver, SqlEntityManager>;
  readonly registry: TenancyRegistry;
}

/** A tenancy, the database it serves from in words, and how to stop what was started for it. */
export interface OpenedTenancy {
  tenancy: NotesTenancy;
  /** E.g. `PostgreSQL 18.4 at 127.0.0.1:54321`, or `SQLite files in /srv/notes`. */
  database: string;
  /** Closes the tenancy (and stops the embedded server, if one was started). */
  close(): Promise<void>;
}

/**
 * Creates or updates the shared tables from the entities (use migrations in production). MikroORM 6 calls it
 * `orm.schema.updateSchema()`, 7 `orm.schema.update()`: the example runs on both.
 */
export async function updateSharedSchema(orm: MikroORM<any, any>): Promise<void> {
  const generator = orm.schema as unknown as { update?(): Promise<void>; updateSchema?(): Promise<void> };
  await (generator.update ?? generator.updateSchema)!.call(generator);
}

/** The strategy named by `STRATEGY` (`sqlite` unless set). @throws Error for an unknown name */
export function strategyFrom(value = process.env.STRATEGY): Strategy {
  if (value === undefined || value === '' || value === 'sqlite') {
    return 'sqlite';
  }
  if (STRATEGIES.includes(value as Strategy)) {
    return value as Strategy;
  }
  throw new Error(`STRATEGY must be one of ${STRATEGIES.map(s => `"${s}"`).join(', ')}, not "${value}"`);
}

/**
 * Opens the app's tenancy: SQLite files under `dataDir`; or PostgreSQL at `databaseUrl`, else on a server
 * started here with its data under `dataDir` (port `PGPORT`, default 54321).
 */
export async function openTenancy(options: { strategy: Strategy; dataDir: string; databaseUrl?: string; maxOpen?: number }): Promise<OpenedTenancy> {
  if (options.strategy === 'sqlite') {
    const tenancy = await SqliteTenancy.init(tenancyConfig(options.dataDir, options.maxOpen));
    return { tenancy: tenancy as unknown as NotesTenancy, database: `SQLite files in ${options.dataDir}`, close: () => tenancy.close() };
  }
  if (options.strategy === 'sqlite-row') {
    const config = sqliteRowTenancyConfig(options.dataDir, options.maxOpen);
    const tenancy = await (await rowTenancyClass()).init(config);
    return { tenancy: tenancy as unknown as NotesTenancy, database: `SQLite file ${config.dbName}`, close: () => tenancy.close() };
  }
  const server = options.databaseUrl ? undefined : await startEmbeddedPostgres(options.dataDir, Number(process.env.PGPORT ?? 54321));
  try {
    const url = options.databaseUrl ?? server!.url;
    const tenancy = options.strategy === 'pg-row'
      ? await openRowTenancy(await appRoleUrl(url), options.maxOpen)
      : await PostgresSchemaTenancy.init(postgresTenancyConfig(url, options.maxOpen));
    const connection = tenancy.orm.em.getConnection() as unknown as { execute<T>(sql: string): Promise<T> };
    const [{ version }] = await connection.execute<[{ version: string }]>("select split_part(current_setting('server_version'), ' ', 1) as version");
    const address = server?.address ?? `${new URL(url).hostname}:${new URL(url).port || 5432}`;
    return {
      tenancy: tenancy as unknown as NotesTenancy,
      database: `PostgreSQL ${version} at ${address}${options.strategy === 'pg-row' ? ` as ${new URL(String((tenancy.orm.config as { get(key: string): unknown }).get('clientUrl'))).username} (row level security)` : ''}`,
      async close() {
        await tenancy.close();
        await server?.stop();
      },
    };
  } catch (error) {
    await server?.stop();
    throw error;
  }
}

/**
 * The row strategy on PostgreSQL, connected as the app's role: it owns the tables it creates here, with row
 * level security forced on the notes table (the policies are the tenancy's own SQL).
 */
async function openRowTenancy(url: string, maxOpen?: number): Promise<RowTenancy> {
  const tenancy = await (await rowTenancyClass()).init(postgresRowTenancyConfig(url, maxOpen));
  try {
    await updateSharedSchema(tenancy.orm);
    await tenancy.applyRowSecurity();
    return tenancy;
  } catch (error) {
    await tenancy.close();
    throw error;
  }
}

/** `RowTenancy`, loaded only for the row strategies. */
async function rowTenancyClass(): Promise<typeof RowTenancy> {
  // require(), not import(): where this file is compiled to CommonJS (tsx under mocha), import() would load a
  // second copy of @mikro-tenant/core, whose errors the Koa adapter would not know.
  return (createRequire(import.meta.url)('@mikro-tenant/row') as { RowTenancy: typeof RowTenancy }).RowTenancy;
}

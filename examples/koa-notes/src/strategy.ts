import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, SqlEntityManager } from '@mikro-orm/knex';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { SqliteTenancy, type Tenancy, type TenancyRegistry } from '@mikro-tenant/sqlite';
import { startEmbeddedPostgres } from './postgres-server.js';
import { postgresTenancyConfig, tenancyConfig } from './tenancy-config.js';

/** Where the app keeps its tenants: a SQLite file per user, or a PostgreSQL schema per user. */
export type Strategy = 'sqlite' | 'pg-schema';

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

/** The strategy named by `STRATEGY` (`sqlite` unless set). @throws Error for an unknown name */
export function strategyFrom(value = process.env.STRATEGY): Strategy {
  if (value === undefined || value === '' || value === 'sqlite') {
    return 'sqlite';
  }
  if (value === 'pg-schema') {
    return value;
  }
  throw new Error(`STRATEGY must be "sqlite" or "pg-schema", not "${value}"`);
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
  const server = options.databaseUrl ? undefined : await startEmbeddedPostgres(options.dataDir, Number(process.env.PGPORT ?? 54321));
  try {
    const url = options.databaseUrl ?? server!.url;
    const tenancy = await PostgresSchemaTenancy.init(postgresTenancyConfig(url, options.maxOpen));
    const [{ version }] = await tenancy.orm.em.getConnection().execute<[{ version: string }]>("select split_part(current_setting('server_version'), ' ', 1) as version");
    const address = server?.address ?? `${new URL(url).hostname}:${new URL(url).port || 5432}`;
    return {
      tenancy: tenancy as unknown as NotesTenancy,
      database: `PostgreSQL ${version} at ${address}`,
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

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresSchemaTenancy, type PostgresTenancyOptions } from '@mikro-tenant/postgresql';
import type { MikroORM, Options } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { ormMajor } from '../orm-major.js';
import { schemaGenerator } from '../orm-packages.js';
import { Note, Tag, User } from '../fixtures/entities.js';
import { pgServer } from './server.js';

/** A database of its own for one test, on the test server; `drop()` removes it (ending its connections first). */
export interface TestDatabase {
  /** Its name. */
  readonly name: string;
  /** Its connection URL. */
  readonly url: string;
  /** Runs SQL on it through a connection of its own (not the tenancy's pool). */
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Drops it. */
  drop(): Promise<void>;
}

/** Creates a fresh database on the test server (starting the server on first use). */
export async function createTestDatabase(label = 'mt'): Promise<TestDatabase> {
  const server = await pgServer();
  const name = `${label}_${randomBytes(5).toString('hex')}`;
  await adminQuery(server.url, `create database "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async query<R extends object>(sql: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as R[];
      } finally {
        await client.end();
      }
    },
    async drop() {
      await adminQuery(server.url, `drop database if exists "${name}" with (force)`);
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Warnings of tenancies made by {@link makePgTenancy} without their own `warn` (kept out of the test output). */
export const collectedPgWarnings: { message: string; code: string }[] = [];

/** A schema-per-tenant tenancy on `db`: shared User, per-tenant Note and Tag; the shared tables created. */
export async function makePgTenancy(db: TestDatabase, tenancy: Partial<PostgresTenancyOptions> = {}, orm: Partial<Options> = {}): Promise<PgTenancy> {
  const instance = await PostgresSchemaTenancy.init<SqlEntityManager>({
    clientUrl: db.url,
    entities: [User],
    allowGlobalContext: false,
    debug: false,
    ...orm,
    tenancy: { entities: [Note, Tag], warn: (message, code) => collectedPgWarnings.push({ message, code }), ...tenancy },
  });
  await schemaGenerator(instance.orm.schema).update();
  return instance;
}

/** The tenancies of these tests: SQL EntityManagers (MikroORM 6's typings; 7's have the same API). */
export type PgTenancy = PostgresSchemaTenancy<SqlEntityManager>;

/**
 * Records every statement the shared ORM's pool sends to the server, tenants' included (they share it):
 * knex's `query` event on MikroORM 6; each pooled client's `query()` on 7, where the `search_path` a client
 * is given when it changes hands is a statement of its own (on 6 it travels with the statement), left out.
 */
export async function recordPoolStatements(orm: MikroORM, out: string[]): Promise<void> {
  const connection = orm.em.getConnection() as unknown as {
    getKnex(): { on(event: 'query', fn: (query: { sql: string }) => void): void };
    getNativeClient(): Promise<{ on(event: 'acquire', fn: (client: { query: (...args: unknown[]) => unknown }) => void): void }>;
  };
  if (ormMajor() === 6) {
    connection.getKnex().on('query', query => out.push(query.sql));
    return;
  }
  const seen = new WeakSet<object>();
  (await connection.getNativeClient()).on('acquire', client => {
    if (seen.has(client)) {
      return;
    }
    seen.add(client);
    const query = client.query;
    client.query = function recorded(this: unknown, ...args: unknown[]) {
      const sql = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text ?? '';
      if (!/^(set search_path to |reset search_path$)/.test(sql)) {
        out.push(sql);
      }
      return query.apply(this, args);
    };
  });
}

/**
 * A mocha fixture: a fresh database per test and a tenancy on it (`fixture.tenancy`), closed and dropped
 * after the test. Call inside `describe()`.
 */
export function withPgTenancy(tenancy: Partial<PostgresTenancyOptions> = {}, orm: Partial<Options> = {}): {
  readonly tenancy: PgTenancy; readonly db: TestDatabase;
} {
  const state: { tenancy?: PgTenancy; db?: TestDatabase } = {};
  beforeEach(async function () {
    this.timeout(60_000);
    state.db = await createTestDatabase();
    state.tenancy = await makePgTenancy(state.db, tenancy, orm);
  });
  afterEach(async () => {
    await state.tenancy?.close();
    await state.db?.drop();
    state.tenancy = undefined;
    state.db = undefined;
  });
  return {
    get tenancy() { return state.tenancy!; },
    get db() { return state.db!; },
  };
}

/** Names of the schemas of `db` that match `like`. */
export async function schemaNames(db: TestDatabase, like = 'tenant_%'): Promise<string[]> {
  const rows = await db.query<{ nspname: string }>('select nspname from pg_namespace where nspname like $1 order by nspname', [like]);
  return rows.map(row => row.nspname);
}

/** Names of the tables of one schema. */
export async function tableNamesIn(db: TestDatabase, schema: string): Promise<string[]> {
  const rows = await db.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' order by table_name", [schema]);
  return rows.map(row => row.table_name);
}

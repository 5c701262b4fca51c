import { join } from 'node:path';
import pg from 'pg';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { Options } from '@mikro-orm/core';
import { RowTenancy, type RowTenancyOptions } from '@mikro-tenant/row';
import { createTestDatabase, type TestDatabase } from '../postgres/helpers.js';
import { tempDir } from '../helpers.js';
import { schemaGenerator, sqliteDriver } from '../orm-packages.js';
import { Account, Project, Task } from './fixtures.js';

/** Which database a row tenancy of the tests runs on. */
export type RowEngine = 'sqlite' | 'pg' | 'pg-rls-only';

/** A row tenancy on a fresh database, its tables created (and on PostgreSQL its policies, as the app role owning them). */
export interface RowFixture {
  readonly tenancy: RowTenancy;
  /** Runs SQL as a superuser (PostgreSQL) or on the file (SQLite), outside the tenancy. */
  close(): Promise<void>;
}

/** Warnings collected from the tenancies of the tests. */
export const rowWarnings: { message: string; code: string }[] = [];

/**
 * Opens a row tenancy for `engine`: SQLite in a temp folder; PostgreSQL on a database of its own, connected as
 * a role that is neither superuser nor BYPASSRLS but owns the tables (row level security forced on them).
 * `pg-rls-only` turns the ORM-level guard off.
 */
export async function openRowTenancy(engine: RowEngine, tenancy: Partial<RowTenancyOptions> = {}, orm: Partial<Options> = {}): Promise<RowFixture> {
  const options = { entities: [Project, Task], warn: (message: string, code: string) => rowWarnings.push({ message, code }), ...tenancy };
  if (engine === 'sqlite') {
    const { dir, cleanup } = tempDir('row');
    const instance = await RowTenancy.init({ driver: sqliteDriver(), dbName: join(dir, 'app.sqlite3'), entities: [Account], debug: false, ...orm, tenancy: options } as never);
    await schemaGenerator(instance.orm.schema).update();
    return { tenancy: instance, async close() { await instance.close(); cleanup(); } };
  }
  const db = await createTestDatabase('row');
  const role = await createAppRole(db);
  try {
    const instance = await RowTenancy.init({
      driver: PostgreSqlDriver, clientUrl: role.url, entities: [Account], debug: false, ...orm,
      tenancy: { ...options, guard: engine === 'pg' && (tenancy.guard ?? true) },
    } as never);
    await schemaGenerator(instance.orm.schema).update();
    await instance.applyRowSecurity();
    return { tenancy: instance, async close() { await instance.close(); await db.drop(); await role.drop(); } };
  } catch (error) {
    await db.drop();
    await role.drop();
    throw error;
  }
}

/** A login role for one test database: no superuser, no BYPASSRLS, allowed to create tables in its `public` schema. */
export async function createAppRole(db: TestDatabase): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${db.name}_app`;
  await db.query(`create role "${name}" login password 'app' nosuperuser nobypassrls`);
  await db.query(`grant all on schema public to "${name}"`);
  const url = new URL(db.url);
  url.username = name;
  url.password = 'app';
  return {
    url: url.toString(),
    name,
    async drop() {
      const admin = new URL(db.url);
      admin.pathname = '/postgres';
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      try {
        await client.query(`drop role if exists "${name}"`);
      } finally {
        await client.end();
      }
    },
  };
}

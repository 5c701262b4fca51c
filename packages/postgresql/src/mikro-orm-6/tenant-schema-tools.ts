/**
 * MikroORM 6's schema tools (Migrator, SqlSchemaGenerator) bound to one tenant's schema, without the
 * parts that read the whole database: the Migrator lists every table of every schema before each run
 * (to find its own table), which at a thousand tenants makes migrating all of them quadratic. Here its
 * table is created with `create table if not exists` in the tenant's schema instead.
 * @module
 */
import type { Transaction } from '@mikro-orm/core';
import { SqlSchemaGenerator } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import { quoteIdentifier } from '../identifiers.js';
import { migrationsTableSql } from '../migrations-table.js';
import type { TenantEntityManager } from './tenant-entity-manager.js';

interface MigratorInternals {
  schemaGenerator: { ensureDatabase(): Promise<boolean> };
  runner: { run(migration: unknown, method: 'up' | 'down'): Promise<void> };
}

/**
 * A Migrator over a tenant's EntityManager: its table lives in the tenant's schema (the tenant
 * configuration's `schema`), and it reads nothing but that schema.
 * @param ensureTable `false`: the caller creates the migrations table itself (inside its own transaction)
 */
export function tenantMigrator(em: TenantEntityManager, ensureTable = true): Migrator {
  const migrator = new Migrator(em);
  const internals = migrator as unknown as MigratorInternals;
  // The database is the shared one, which exists: no query to find out.
  internals.schemaGenerator.ensureDatabase = async () => false;
  const storage = migrator.getStorage();
  const { tableName, schemaName } = storage.getTableName();
  storage.ensureTable = ensureTable
    ? async () => { await em.getConnection().execute(migrationsTableSql(schemaName!, tableName), [], 'run'); }
    : async () => undefined;
  return migrator;
}

/**
 * Applies every migration to a fresh schema inside a transaction that is then rolled back, and returns
 * what ran: the SQL of each migration in order (with `inSchema` where MikroORM named the schema) and the
 * migrations' names. Replayed on an empty schema, those statements build what the migrations build.
 * @param em bound to `schema`, whose connection reports each statement it runs to `record` while `recording.active`
 */
export async function recordMigrations(em: TenantEntityManager, schema: string, table: string,
  recording: { active: boolean }): Promise<{ executed: string[] }> {
  const migrator = tenantMigrator(em, false);
  const runner = (migrator as unknown as MigratorInternals).runner;
  const run = runner.run.bind(runner);
  runner.run = async (migration, method) => {
    recording.active = true;
    try {
      await run(migration, method);
    } finally {
      recording.active = false;
    }
  };
  const connection = em.getConnection();
  const rollback = Symbol('rollback');
  let executed: string[] = [];
  try {
    await connection.transactional(async trx => {
      await connection.execute(`create schema ${quoteIdentifier(schema)}`, [], 'run', trx);
      await connection.execute(migrationsTableSql(schema, table), [], 'run', trx);
      executed = (await migrator.up({ transaction: trx as Transaction })).map(m => m.name);
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) {
      throw error;
    }
  }
  return { executed };
}

/** The DDL creating the per-tenant tables in `schema` (`create schema` left out), built from the metadata alone. */
export async function tenantTablesSql(em: TenantEntityManager, schema: string): Promise<string> {
  const sql = await new SqlSchemaGenerator(em).getCreateSchemaSQL({ schema, wrap: false });
  return sql.split('\n').filter(line => !/^create schema /i.test(line.trim())).join('\n').trim();
}

/** The DDL a tenant's schema lacks compared with the entities (safe: nothing is dropped), reading that schema only. */
export async function missingTablesSql(em: TenantEntityManager, schema: string): Promise<string> {
  return (await new SqlSchemaGenerator(em).getUpdateSchemaSQL({ schema, safe: true, wrap: false })).trim();
}

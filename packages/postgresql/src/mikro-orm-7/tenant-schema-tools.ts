/**
 * MikroORM 7's schema tools (Migrator, SqlSchemaGenerator) bound to one tenant's schema. Unlike 6's, the
 * Migrator finds its table with a check of that one table (`information_schema`, tenant's schema) instead
 * of listing every table of every schema, so migrating a thousand tenants stays linear with no help here;
 * the database check it starts with is skipped by the tenant configuration (`tenant-config.ts`).
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { SqlSchemaGenerator } from '@mikro-orm/sql';
import { quoteIdentifier } from '../identifiers.js';
import { migrationsTableSql } from '../migrations-table.js';
import type { TenantMigrator } from '../orm-adapter.js';

interface MigratorInternals {
  runner: { run(migration: unknown, method: 'up' | 'down', afterRun?: unknown): Promise<void> };
  storage: { setMasterMigration(trx: unknown): void };
}

/**
 * A Migrator over a tenant's EntityManager: its table lives in the tenant's schema (the tenant
 * configuration's `schema`), and it reads nothing but that schema.
 */
export function tenantMigrator(em: EntityManager): TenantMigrator {
  const migrator = new Migrator(em as never);
  return {
    up: async () => (await migrator.up()).map(m => m.name),
    executed: async () => (await migrator.getExecuted()).map(m => m.name),
    pending: async () => (await migrator.getPending()).map(m => m.name),
  };
}

/**
 * Applies every migration to a fresh schema inside a transaction that is then rolled back, and returns
 * the migrations' names; `em` reports each statement it runs while `recording.active` is set.
 */
export async function recordMigrations(em: EntityManager, schema: string, table: string,
  recording: { active: boolean }): Promise<{ executed: string[] }> {
  const migrator = new Migrator(em as never);
  const runner = (migrator as unknown as MigratorInternals).runner;
  const run = runner.run.bind(runner);
  runner.run = async (migration, method, afterRun) => {
    recording.active = true;
    // MikroORM 7 records a migration as executed (afterRun) inside its run: that row is the template's own.
    const logged = typeof afterRun === 'function'
      ? async (...args: unknown[]) => { recording.active = false; return (afterRun as (...a: unknown[]) => unknown)(...args); }
      : afterRun;
    try {
      await run(migration, method, logged);
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
      // The Migrator looks for its table before it takes the transaction: in it, where the scratch schema
      // exists (outside, it would create the schema again and wait for this transaction forever).
      (migrator as unknown as MigratorInternals).storage.setMasterMigration(trx);
      executed = (await migrator.up({ transaction: trx as never })).map(m => m.name);
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
export async function tenantTablesSql(em: EntityManager, schema: string): Promise<string> {
  const sql = await new SqlSchemaGenerator(em as never).getCreateSchemaSQL({ schema, wrap: false });
  return sql.split('\n').filter(line => !/^create schema /i.test(line.trim())).join('\n').trim();
}

/** The DDL a tenant's schema lacks compared with the entities (safe: nothing is dropped), reading that schema only. */
export async function missingTablesSql(em: EntityManager, schema: string): Promise<string> {
  return (await new SqlSchemaGenerator(em as never).getUpdateSchemaSQL({ schema, safe: true, wrap: false })).trim();
}

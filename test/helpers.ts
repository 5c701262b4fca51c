import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Types only (erased at run time): the suite type-checks against MikroORM 6 and runs on 6 and 7.
import type { SqlEntityManager } from '@mikro-orm/knex';
import { SqliteTenancy, type SqliteTenancyOptions } from '@mikro-tenant/sqlite';
import { loadOrmAdapter, loadedOrmAdapter, type OrmAdapter } from '@mikro-tenant/sqlite/internal';
import { Note, Tag, User } from './fixtures/entities.js';

/** A tenancy typed with MikroORM's SQL EntityManager (`createQueryBuilder()`, `execute()`). */
export type SqlTenancy = SqliteTenancy<SqlEntityManager>;

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(label = 'mt'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Warnings of tenancies made by {@link makeTenancy} without their own `warn` (kept out of the test output). */
export const collectedWarnings: { message: string; code: string }[] = [];

/** A tenancy over real files in `dir`: shared User, per-tenant Note and Tag. */
export async function makeTenancy(dir: string, tenancy: Partial<SqliteTenancyOptions> = {}): Promise<SqliteTenancy<SqlEntityManager>> {
  return SqliteTenancy.init<SqlEntityManager>({
    dbName: join(dir, 'shared.sqlite3'),
    entities: [User],
    allowGlobalContext: false,
    debug: false,
    tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: (message, code) => collectedWarnings.push({ message, code }), ...tenancy },
  });
}

/** Collects the warnings of one tenancy: pass `warn` to {@link makeTenancy}. */
export function warningCollector(): { warn: (message: string, code: string) => void; warnings: { message: string; code: string }[] } {
  const warnings: { message: string; code: string }[] = [];
  return { warnings, warn: (message, code) => { warnings.push({ message, code }); } };
}

/** Creates the shared schema (the User table) of a tenancy. */
export async function createSharedSchema(tenancy: SqliteTenancy): Promise<void> {
  await tenancy.sharedSchema.create();
}

/** Sleeps a few ms: interleaves async work in isolation tests. */
export function tick(ms = 1): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/**
 * What `work` throws or rejects with, or `undefined` when it succeeds: `expect(await errorOf(...)).to.have.property('code', X)`
 * then fails, so a test built on it cannot pass because the error never came.
 */
export async function errorOf(work: () => unknown): Promise<(Error & { code?: string }) | undefined> {
  try {
    await work();
  } catch (error) {
    return error as Error & { code?: string };
  }
  return undefined;
}

/**
 * The MikroORM-major-specific half of the tenancy, for tests that reach what differs between MikroORM 6
 * and 7 (migrators, schema tools, the shared guard's method lists).
 */
export function ormAdapter(): OrmAdapter {
  // Test files are compiled to CommonJS (tsx, through mocha's require()), where the library loads it synchronously.
  void loadOrmAdapter();
  const adapter = loadedOrmAdapter();
  if (!adapter) {
    throw new Error('ormAdapter(): the adapter loads asynchronously here (an ES module test file); await loadOrmAdapter() instead');
  }
  return adapter;
}

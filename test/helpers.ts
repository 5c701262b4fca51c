import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteTenancy, type SqliteTenancyOptions } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(label = 'mt'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Warnings of tenancies made by {@link makeTenancy} without their own `warn` (kept out of the test output). */
export const collectedWarnings: { message: string; code: string }[] = [];

/** A tenancy over real files in `dir`: shared User, per-tenant Note and Tag. */
export async function makeTenancy(dir: string, tenancy: Partial<SqliteTenancyOptions> = {}): Promise<SqliteTenancy> {
  return SqliteTenancy.init({
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
  await tenancy.orm.schema.createSchema();
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

/**
 * A tenant's file opened with better-sqlite3 directly, for work that needs nothing of MikroORM (the
 * CLI's migrations on a tenant no connection holds, a migration script run on a connection's handle).
 * The same on both MikroORM majors: a handle is prepared as a tenant connection prepares its own.
 * @module
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { StatementGuard, TenantBinding } from './orm-adapter.js';

/** What a migration runner needs of a better-sqlite3 handle. */
export interface RawHandle {
  exec(sql: string): unknown;
  prepare(sql: string): { get(...params: unknown[]): unknown; run(...params: unknown[]): unknown; pluck(): { all(...params: unknown[]): unknown[] } };
  readonly inTransaction: boolean;
}

/** A tenant's raw handle as work outside MikroORM uses it: `exec()` passes the handle's statement guard first, as the ORM's statements do. */
export interface TenantHandle extends RawHandle {
  prepare(sql: string): Database.Statement;
  close(): void;
}

let betterSqlite: typeof Database | undefined;

/** `db` with `exec()` checked by `guard` (refusing writes of the attached shared database), if there is one. */
export function guardedHandle(db: Database.Database, guard: StatementGuard | undefined): TenantHandle {
  if (!guard) {
    return db;
  }
  return {
    exec: sql => {
      guard(db, sql, []);
      return db.exec(sql);
    },
    prepare: sql => db.prepare(sql),
    get inTransaction() {
      return db.inTransaction;
    },
    close: () => db.close(),
  };
}

/**
 * A tenant's file opened and prepared as its connection opens it (pragmas, ATTACH), as a bare handle that
 * is the caller's to close: for work that needs nothing of MikroORM on a tenant no connection holds
 * (the CLI's migrations). Never open one beside a connection of the same tenant in one process.
 */
export function openTenantHandle(binding: TenantBinding): TenantHandle {
  betterSqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  const db = new betterSqlite(binding.file, { fileMustExist: !binding.create });
  try {
    binding.setup(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return guardedHandle(db, binding.guard);
}

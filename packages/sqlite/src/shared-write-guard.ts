/**
 * Refuses, before it runs, any statement on a tenant connection that would write the ATTACHed shared
 * database: such a write would take the shared file's write lock on a second connection of the
 * process (see shared-write-router.ts for the writes that are routed to the shared connection instead).
 *
 * better-sqlite3 builds SQLite without URI file names, so the shared file cannot be attached read-only
 * (`file:...?mode=ro` is taken as a literal file name). The check asks SQLite itself: a statement
 * that is not a SELECT and names the attached alias or a shared table is compiled with EXPLAIN, and
 * refused when its program opens a write transaction on the attached database (that happens even when
 * no row would change). Other statements, and so every ordinary tenant query, pay one regular-expression
 * test.
 * @module
 */
import { TenantError } from '@mikro-tenant/core';

/** What the guard asks of a better-sqlite3 handle (described here, so this file depends on no driver). */
export interface ExplainingHandle {
  prepare(source: string): { all(...params: unknown[]): unknown[] };
}

/** Checks one statement before a tenant connection runs it. */
export type StatementGuard = (db: ExplainingHandle, sql: string, bindings: readonly unknown[] | undefined) => void;

interface ExplainRow {
  opcode: string;
  p1: number;
  p2: number;
}

const SELECT = /^\s*select\b/i;

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Index of the attached database `alias` on this handle (SQLite numbers main 0, temp 1, then attachments). */
function schemaIndex(db: ExplainingHandle, alias: string): number | undefined {
  const rows = db.prepare('pragma database_list').all() as { seq: number; name: string }[];
  return rows.find(row => row.name === alias)?.seq;
}

/**
 * A guard refusing statements that write the database attached as `alias`.
 * @param alias the ATTACH alias of the shared database
 * @param tables the shared database's tables (unqualified names resolve to it when the tenant has no such table)
 * @throws TenantError `ERR_SHARED_WRITE_ON_TENANT_EM` (from the returned guard)
 */
export function sharedWriteGuard(alias: string, tables: readonly string[]): StatementGuard {
  const names = [alias, ...tables].map(escape).join('|');
  const mentionsShared = new RegExp(`(?:^|[^A-Za-z0-9_$])(?:${names})(?![A-Za-z0-9_$])`, 'i');
  const indexes = new WeakMap<ExplainingHandle, number | undefined>();
  return (db, sql, bindings) => {
    if (SELECT.test(sql) || !mentionsShared.test(sql)) {
      return;
    }
    if (!indexes.has(db)) {
      indexes.set(db, schemaIndex(db, alias));
    }
    const index = indexes.get(db);
    if (index === undefined) {
      return;
    }
    const program = db.prepare(`explain ${sql}`).all(...(bindings ?? [])) as ExplainRow[];
    if (program.some(op => op.opcode === 'Transaction' && op.p1 === index && op.p2 !== 0)) {
      throw TenantError.sharedWriteOnTenantEm(sql.length > 120 ? `${sql.slice(0, 120)}...` : sql);
    }
  };
}

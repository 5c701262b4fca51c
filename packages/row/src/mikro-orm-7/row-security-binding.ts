/**
 * PostgreSQL row level security needs each statement to say its tenant. The setting is made with
 * `set_config(name, value, true)`, which lasts until the end of the transaction and never outlives it
 * (a session-wide one would leak to the next user of the pooled connection):
 * - in a transaction, once when it begins (an `afterTransactionStart` subscriber);
 * - outside one, in the same round trip as the statement: MikroORM 7 sends statements with their values
 *   inline, and a query without parameters goes to PostgreSQL as a simple query, whose statements run in
 *   one implicit transaction, so `select set_config(...); <statement>` scopes exactly that statement at no
 *   extra round trip. Kysely reads only one result per query, so that query goes to the `pg` pool
 *   MikroORM's connection hands out (`getNativeClient()`), and its last result is shaped as kysely's.
 * Streams (`em.stream()`, new in 7) outside a transaction carry no setting: they see no row (run them in
 * `em.transactional()`, as MikroORM's own session context asks).
 * The tenant comes from the statement's logger context (row-scope.ts).
 * @module
 */
import type { EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/sql';
import { scopeOf, scopeOfContext } from '../row-scope.js';
import { settingStatement, type ValueFormatter } from '../row-security-sql.js';

/** One result of a `pg` query. */
interface PgResult {
  command?: string;
  rowCount?: number | null;
  rows?: unknown[];
}

interface ConnectionInternals {
  ensureConnection(): Promise<void>;
  prepareQuery(query: unknown, params?: unknown): { query: string; params: unknown[]; formatted: string };
  getSql(query: string, formatted: string, context?: object): string;
  executeQuery<T>(sql: string, cb: () => Promise<T>, context?: object): Promise<T>;
  transformRawResult<T>(res: unknown, method: string): T;
  getNativeClient(): Promise<{ query(sql: string): Promise<PgResult | PgResult[]> }>;
  platform: ValueFormatter;
}

/** Commands whose row count kysely reports as `numAffectedRows`. */
const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** Makes `connection` send each statement outside a transaction with its scope's setting in front. Once per connection. */
export function bindScopePerStatement(connection: AbstractSqlConnection): void {
  const target = connection as unknown as ConnectionInternals & { execute: AbstractSqlConnection['execute']; __mikroTenantRow?: true };
  if (target.__mikroTenantRow) {
    return;
  }
  const execute = connection.execute.bind(connection);
  Object.defineProperty(target, '__mikroTenantRow', { value: true });
  target.execute = async function executeInScope(query: any, params: any = [], method: any = 'all', ctx?: any, loggerContext?: any) {
    const setting = settingStatement(scopeOfContext(loggerContext), target.platform);
    if (!setting || ctx) {
      return execute(query, params, method, ctx, loggerContext);
    }
    await target.ensureConnection();
    const q = target.prepareQuery(query, params);
    return target.executeQuery(target.getSql(q.query, q.formatted, loggerContext), async () => {
      const pool = await target.getNativeClient();
      const results = await pool.query(`${setting};\n${q.formatted}`);
      const last = Array.isArray(results) ? results[results.length - 1]! : results;
      const shaped = {
        rows: last.rows ?? [],
        numAffectedRows: WRITES.has(last.command ?? '') && last.rowCount != null ? BigInt(last.rowCount) : undefined,
      };
      return target.transformRawResult(shaped, method);
    }, { ...q, ...withoutAbort(loggerContext) });
  } as AbstractSqlConnection['execute'];
}

/** The logger context without the abort options MikroORM 7 carries on it (not for the query log). */
function withoutAbort(loggerContext: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!loggerContext) {
    return loggerContext;
  }
  const { signal: _signal, inflightQueryAbortStrategy: _strategy, ...rest } = loggerContext;
  return rest;
}

/** Sets the scope of the EntityManager beginning a transaction for the whole transaction. */
export class ScopePerTransaction implements EventSubscriber {
  async afterTransactionStart({ em, transaction }: TransactionEventArgs): Promise<void> {
    const connection = em.getConnection() as unknown as AbstractSqlConnection;
    const setting = settingStatement(scopeOf(em), em.getPlatform());
    if (setting) {
      await connection.execute(setting, [], 'all', transaction as never, { enabled: false } as never);
    }
  }
}

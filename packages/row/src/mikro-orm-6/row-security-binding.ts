/**
 * PostgreSQL row level security needs each statement to say its tenant. The setting is made with
 * `set_config(name, value, true)`, which lasts until the end of the transaction and never outlives it
 * (a session-wide one would leak to the next user of the pooled connection):
 * - in a transaction, once when it begins (an `afterTransactionStart` subscriber);
 * - outside one, in the same round trip as the statement: MikroORM 6 sends statements with their values
 *   inline, as simple queries, and PostgreSQL runs the statements of one simple query in one implicit
 *   transaction, so `select set_config(...); <statement>` scopes exactly that statement at no extra round trip.
 * The tenant comes from the statement's logger context (row-scope.ts).
 * @module
 */
import type { EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { scopeOf, scopeOfContext } from '../row-scope.js';
import { settingStatement, type ValueFormatter } from '../row-security-sql.js';

type Platform = ValueFormatter;

interface ConnectionInternals {
  ensureConnection(): Promise<void>;
  getSql(query: string, formatted: string, context?: object): string;
  executeQuery<T>(sql: string, cb: () => Promise<T>, context?: object): Promise<T>;
  transformRawResult<T>(res: unknown, method: string): T;
  getKnex(): { raw(sql: string): Promise<unknown> };
  config: { get(key: 'onQuery'): (sql: string, params: readonly unknown[]) => string };
  platform: Platform;
}

/** Makes `connection` send each statement outside a transaction with its scope's setting in front. Once per connection. */
export function bindScopePerStatement(connection: AbstractSqlConnection): void {
  const target = connection as unknown as ConnectionInternals & { execute: AbstractSqlConnection['execute']; __mikroTenantRow?: true };
  if (target.__mikroTenantRow) {
    return;
  }
  const execute = connection.execute.bind(connection);
  Object.defineProperty(target, '__mikroTenantRow', { value: true });
  target.execute = async function executeInScope(this: ConnectionInternals, queryOrKnex: any, params: any[] = [], method: any = 'all', ctx?: any, loggerContext?: any) {
    const setting = settingStatement(scopeOfContext(loggerContext), target.platform);
    if (!setting || ctx || (typeof queryOrKnex === 'object' && queryOrKnex?.client?.transacting)) {
      return execute(queryOrKnex, params, method, ctx, loggerContext);
    }
    await target.ensureConnection();
    let sql = queryOrKnex as string;
    if (typeof queryOrKnex === 'object') {
      const q = queryOrKnex.toSQL();
      sql = q.sql;
      params = q.bindings ?? [];
    }
    sql = target.config.get('onQuery')(sql, params);
    const formatted = target.platform.formatQuery(sql, params);
    return target.executeQuery(target.getSql(sql, formatted, loggerContext), async () => {
      const res = await target.getKnex().raw(`${setting};\n${formatted}`);
      return target.transformRawResult(Array.isArray(res) ? res[res.length - 1] : res, method);
    }, { query: sql, params, ...loggerContext });
  } as AbstractSqlConnection['execute'];
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

import type { DatabaseConnection, Dialect } from 'kysely';
import type { StatementGuard } from '../orm-adapter.js';

/** What the dialect needs of the tenant's better-sqlite3 handle. */
interface TenantHandle {
  readonly inTransaction: boolean;
  prepare(source: string): { all(...params: unknown[]): unknown[] };
}

/**
 * Kysely's SQLite dialect over a tenant's handle `db`, adjusted in two ways:
 *
 * - its `rollback` succeeds when SQLite has already rolled the transaction back itself. SQLite does so on
 *   some errors (a full disk, an I/O error, `RAISE(ROLLBACK)` in a trigger); kysely's ROLLBACK then fails
 *   with "no transaction is active" and its transaction never releases the dialect's one connection, so
 *   every later statement on the handle would wait forever;
 * - every statement passes `guard` first (it refuses writes of the attached shared database), on the
 *   connection all of kysely's statements and transactions go through.
 */
export function tenantDialect(dialect: Dialect, db: TenantHandle, guard?: StatementGuard): Dialect {
  const createDriver = dialect.createDriver.bind(dialect);
  dialect.createDriver = () => {
    const driver = createDriver();
    const rollbackTransaction = driver.rollbackTransaction.bind(driver);
    driver.rollbackTransaction = async connection => {
      if (db.inTransaction) {
        await rollbackTransaction(connection);
      }
    };
    if (guard) {
      const guarded = new WeakSet<DatabaseConnection>();
      const acquireConnection = driver.acquireConnection.bind(driver);
      driver.acquireConnection = async () => {
        const connection = await acquireConnection();
        if (!guarded.has(connection)) {
          guarded.add(connection);
          const executeQuery = connection.executeQuery.bind(connection);
          connection.executeQuery = query => {
            try {
              guard(db, query.sql, query.parameters);
            } catch (error) {
              return Promise.reject(error as Error);
            }
            return executeQuery(query);
          };
        }
        return connection;
      };
    }
    return driver;
  };
  return dialect;
}

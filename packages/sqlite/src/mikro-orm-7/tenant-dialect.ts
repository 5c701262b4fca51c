import type { DatabaseConnection, Dialect, DialectAdapter, QueryCompiler } from 'kysely';
import type { StatementGuard } from '../orm-adapter.js';

/** What the dialect needs of the tenant's better-sqlite3 handle. */
interface TenantHandle {
  readonly inTransaction: boolean;
  prepare(source: string): { all(...params: unknown[]): unknown[] };
}

/** The query compiler and adapter of every tenant's kysely instance in this process, by dialect class. */
const sharedParts = new WeakMap<object, { compiler: QueryCompiler; adapter: DialectAdapter }>();

/**
 * Kysely's SQLite dialect over a tenant's handle `db`, adjusted in three ways:
 *
 * - its `rollback` succeeds when SQLite has already rolled the transaction back itself. SQLite does so on
 *   some errors (a full disk, an I/O error, `RAISE(ROLLBACK)` in a trigger); kysely's ROLLBACK then fails
 *   with "no transaction is active" and its transaction never releases the dialect's one connection, so
 *   every later statement on the handle would wait forever;
 * - every statement passes `guard` first (it refuses writes of the attached shared database), on the
 *   connection all of kysely's statements and transactions go through;
 * - its query compiler and adapter are made once per process and shared by every tenant (kysely builds a
 *   compiler's table of node visitors per instance, on each open). Neither holds a tenant's state: the
 *   adapter holds none, and the compiler only within one synchronous `compileQuery()` call, which it resets
 *   at its start; the handle, driver and connection stay the tenant's own.
 */
export function tenantDialect(dialect: Dialect, db: TenantHandle, guard?: StatementGuard): Dialect {
  let parts = sharedParts.get(dialect.constructor);
  if (!parts) {
    parts = { compiler: dialect.createQueryCompiler(), adapter: dialect.createAdapter() };
    sharedParts.set(dialect.constructor, parts);
  }
  const { compiler, adapter } = parts;
  dialect.createQueryCompiler = () => compiler;
  dialect.createAdapter = () => adapter;
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

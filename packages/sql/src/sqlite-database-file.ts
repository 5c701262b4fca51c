import { isAbsolute, resolve } from 'node:path';

/**
 * The SQLite database file a MikroORM `dbName` names, absolute and resolved as MikroORM resolves it
 * (against `baseDir`), or `undefined` when it is not a file (in memory, a `file:` URI, none given). The one
 * place that says so, for the SQLite strategies and their CLI entries alike.
 */
export function sqliteDatabaseFile(dbName: unknown, baseDir?: string): string | undefined {
  if (typeof dbName !== 'string' || !dbName || dbName === ':memory:' || dbName.startsWith('file:')) {
    return undefined;
  }
  return isAbsolute(dbName) ? dbName : resolve(baseDir ?? process.cwd(), dbName);
}

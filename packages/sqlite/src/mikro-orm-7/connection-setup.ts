import type { Options } from '@mikro-orm/core';
import { CompiledQuery, type DatabaseConnection } from 'kysely';

/**
 * The ORM's options with `statements` run on each connection MikroORM 7 opens (its `onCreateConnection`
 * option, which kysely's dialect calls with the new connection), before the app's own `onCreateConnection`,
 * which can override what they did. A failing statement fails the connection.
 */
export function withConnectionSetup(options: Options, statements: readonly string[]): Options {
  const userHook = options.onCreateConnection;
  const onCreateConnection = async (connection: unknown): Promise<void> => {
    for (const statement of statements) {
      await (connection as DatabaseConnection).executeQuery(CompiledQuery.raw(statement));
    }
    await userHook?.(connection);
  };
  return { ...options, onCreateConnection };
}

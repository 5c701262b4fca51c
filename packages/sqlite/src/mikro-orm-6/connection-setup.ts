import type { Options } from '@mikro-orm/core';

/** A knex pool hook, as MikroORM 6's `pool.afterCreate` option takes it. */
type AfterCreate = (connection: unknown, done: (error: Error | null, connection: unknown) => void) => void;

/**
 * The ORM's options with `setup` run on each connection MikroORM 6 opens (knex's `pool.afterCreate`),
 * before the user's own `pool.afterCreate`, which can override what it did. An error thrown by `setup`
 * fails the connection. (MikroORM 7 has an `onCreateConnection` option for this.)
 */
export function withConnectionSetup<Handle>(options: Options, setup: (handle: Handle) => void): Options {
  const userHook = ((options.pool ?? {}) as { afterCreate?: AfterCreate }).afterCreate;
  const afterCreate: AfterCreate = (connection, done) => {
    try {
      setup(connection as Handle);
    } catch (error) {
      done(error as Error, connection);
      return;
    }
    if (userHook) {
      userHook(connection, done);
    } else {
      done(null, connection);
    }
  };
  return { ...options, pool: { ...options.pool, afterCreate } as Options['pool'] };
}

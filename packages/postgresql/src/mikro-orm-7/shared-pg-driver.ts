import type { Configuration, Dictionary } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { keepDefaultSearchPath, type PgPool } from './search-path.js';
import { guardSharedDriver } from '@mikro-tenant/sql/mikro-orm-7';

/** MikroORM's PostgreSQL driver: the shared ORM's driver unless the app names a subclass. */
export { PostgreSqlDriver };

const POOL = Symbol('mikro-tenant.pool');

/** What this reads of MikroORM 7's PostgreSQL connection. */
interface PoolHolder {
  [POOL]?: PgPool;
  createKyselyDialect(overrides?: Dictionary): unknown;
  ensureConnection(): Promise<void>;
}

/** True for MikroORM's PostgreSQL driver and its subclasses. */
export function isPostgreSqlDriver(driver: unknown): driver is typeof PostgreSqlDriver {
  return driver === PostgreSqlDriver || (typeof driver === 'function' && driver.prototype instanceof PostgreSqlDriver);
}

/**
 * The shared ORM's driver class: the app's PostgreSQL driver, guarded so that per-tenant entities never
 * reach SQL through it (`@mikro-tenant/sql`'s shared-driver guard), whose connections (primary and replicas) hand out pooled
 * clients with the role's default `search_path`, where a tenant's may have been set.
 */
export function sharedDriverClass(Base: typeof PostgreSqlDriver, isTenantEntity: (entityName: string) => boolean): typeof PostgreSqlDriver {
  const Guarded = guardSharedDriver(Base, isTenantEntity);
  class SharedPgDriver extends Guarded {
    constructor(config: Configuration) {
      super(config);
      const self = this as unknown as { connection: PoolHolder; replicas: PoolHolder[] };
      for (const connection of [self.connection, ...self.replicas]) {
        const createKyselyDialect = connection.createKyselyDialect.bind(connection);
        // A new pool is made on each (re)connect: MikroORM hands it to `onPoolCreated`.
        connection.createKyselyDialect = overrides => createKyselyDialect({
          ...overrides,
          onPoolCreated: (pool: PgPool) => {
            keepDefaultSearchPath(pool);
            connection[POOL] = pool;
            return (overrides?.onPoolCreated as ((pool: PgPool) => unknown) | undefined)?.(pool);
          },
        });
      }
    }
  }
  return SharedPgDriver;
}

/** The shared ORM's primary pool now (connecting the shared ORM first if it is not). */
export function sharedPoolOf(connection: unknown): () => Promise<PgPool> {
  const holder = connection as PoolHolder;
  return async () => {
    if (!holder[POOL]) {
      await holder.ensureConnection();
    }
    return holder[POOL]!;
  };
}

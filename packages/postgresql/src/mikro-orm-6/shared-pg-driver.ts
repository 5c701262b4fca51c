import type { Configuration } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { keepDefaultSearchPath } from './search-path.js';
import { guardSharedDriver } from '@mikro-tenant/sql/mikro-orm-6';

/** MikroORM's PostgreSQL driver: the shared ORM's driver unless the app names a subclass. */
export { PostgreSqlDriver };

/** The shared ORM's EntityManager type. */
export type { SqlEntityManager } from '@mikro-orm/knex';

/** True for MikroORM's PostgreSQL driver and its subclasses. */
export function isPostgreSqlDriver(driver: unknown): driver is typeof PostgreSqlDriver {
  return driver === PostgreSqlDriver || (typeof driver === 'function' && driver.prototype instanceof PostgreSqlDriver);
}

/**
 * The shared ORM's driver class: the app's PostgreSQL driver, guarded so that per-tenant entities never
 * reach SQL through it (`@mikro-tenant/sql`'s shared-driver guard), whose connections (primary and replicas) hand out pooled
 * connections with the role's default `search_path`, where a tenant's may have been set.
 */
export function sharedDriverClass(Base: typeof PostgreSqlDriver, isTenantEntity: (entityName: string) => boolean): typeof PostgreSqlDriver {
  const Guarded = guardSharedDriver(Base, isTenantEntity);
  class SharedPgDriver extends Guarded {
    constructor(config: Configuration) {
      super(config);
      const self = this as unknown as { connection: AbstractSqlConnection; replicas: AbstractSqlConnection[] };
      for (const connection of [self.connection, ...self.replicas]) {
        const createKnex = connection.createKnex.bind(connection);
        // The knex client is made anew on each (re)connect.
        connection.createKnex = () => {
          createKnex();
          keepDefaultSearchPath((connection as unknown as { client: { client: never } }).client.client);
        };
      }
    }
  }
  return SharedPgDriver;
}

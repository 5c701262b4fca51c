import type { Knex } from 'knex';
import { BetterSqliteKnexDialect, knex } from '@mikro-orm/knex';

type KnexInstance = Knex & { context: { client: Knex.Client; userParams: object }; _events: object; _eventsCount: number };

/** Template of every tenant's knex instance: only its methods are used, and its client only to build SQL. */
let rootKnex: KnexInstance | undefined;

/** The template knex instance (its client builds SQL only: the schema DDL of an unbound tenant connection). */
export function templateKnex(): KnexInstance {
  return rootKnex ??= knex({ client: BetterSqliteKnexDialect as never, connection: { filename: ':memory:' }, pool: { max: 0 }, useNullAsDefault: true }) as KnexInstance;
}

/**
 * A knex instance for one tenant's client. `knex()` builds ~100 closures per instance (one per query
 * method); they all reach the client through `this.context.client`, so a tenant's instance can inherit
 * them from one template instead and own just its context and events.
 */
export function tenantKnex(client: Knex.Client): Knex {
  const rootKnex = templateKnex();
  const instance = function tenantKnexInstance(tableName?: string, options?: object) {
    const qb = instance.context.client.queryBuilder();
    return tableName ? (qb.table as (name: string, options?: object) => Knex.QueryBuilder)(tableName, options) : qb;
  } as unknown as KnexInstance;
  Object.setPrototypeOf(instance, rootKnex);
  instance.context = Object.assign(Object.create(rootKnex.context) as KnexInstance['context'], { client, userParams: {} });
  instance._events = Object.create(null) as object;
  instance._eventsCount = 0;
  return instance;
}

import type { Knex } from 'knex';
import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { TenantError } from '@mikro-tenant/core';
import type { SharedPool, TenantSchemaBinding } from '../orm-adapter.js';
import { clientWithSearchPath } from './search-path.js';

type KnexInstance = Knex & { context: { client: Knex.Client; userParams: object }; _events: object; _eventsCount: number };

/**
 * A knex instance over a view of the shared client: the shared pool, with the tenant's `search_path` on
 * each checkout. `knex()` builds ~100 closures per instance that reach the client through
 * `this.context.client`, so the tenant's instance inherits them from the shared one and owns just its
 * context and events.
 */
function tenantKnex(shared: Knex, searchPath: string): Knex {
  const root = shared as KnexInstance;
  const client = clientWithSearchPath(root.client, searchPath);
  const instance = function tenantKnexInstance(tableName?: string, options?: object) {
    const qb = instance.context.client.queryBuilder();
    return tableName ? (qb.table as (name: string, options?: object) => Knex.QueryBuilder)(tableName, options) : qb;
  } as unknown as KnexInstance;
  Object.setPrototypeOf(instance, root);
  instance.context = Object.assign(Object.create(root.context) as KnexInstance['context'], { client, userParams: {} });
  instance._events = Object.create(null) as object;
  instance._eventsCount = 0;
  return instance;
}

/**
 * A MikroORM connection of one tenant that opens nothing of its own: its statements go through the shared
 * ORM's connection pool, with the tenant's `search_path`. Closing it (MikroORM's schema tools reconnect)
 * leaves the pool alone. Once its tenant is deleted, or the tenancy closed, it refuses every statement
 * with a coded error (the binding says so), whichever EntityManager or fork sends it.
 */
export class TenantPgConnection extends PostgreSqlConnection {
  #binding?: TenantSchemaBinding;
  #root?: Knex;
  #sqlOnly?: () => Knex;

  /** Points this connection at a tenant. Must be called before the first query. */
  bind(binding: TenantSchemaBinding): void {
    this.#binding = binding;
    // Nothing to open: the shared pool is there (the knex view is made on first use).
    this.connected = true;
  }

  /** The tenant this connection belongs to, if bound. */
  get binding(): TenantSchemaBinding | undefined {
    return this.#binding;
  }

  /** Lets an unbound connection build SQL with the shared knex (the schema generator's DDL), never run it. */
  buildSqlOnly(shared: SharedPool): void {
    this.#sqlOnly = shared as () => Knex;
  }

  override createKnex(): void {
    this.#assertUsable();
    const root = (this.#binding!.shared as () => Knex)();
    if (root !== this.#root || !this.client) {
      this.#root = root;
      this.client = tenantKnex(root, this.#binding!.searchPath);
    }
    this.connected = true;
  }

  override async connect(): Promise<void> {
    this.createKnex();
  }

  override getKnex(): Knex {
    if (this.#sqlOnly && !this.#binding) {
      return this.#sqlOnly();
    }
    this.#assertUsable();
    // The shared ORM may have reconnected since (a new pool): follow it.
    if (!this.client || (this.#binding!.shared as () => Knex)() !== this.#root) {
      this.createKnex();
    }
    return this.client;
  }

  override async execute<T>(...args: Parameters<PostgreSqlConnection['execute']>): Promise<T> {
    this.#assertUsable();
    const binding = this.#binding!;
    if (binding.record) {
      const [query, params = []] = args;
      const { sql, bindings } = typeof query === 'string' ? { sql: query, bindings: params } : query.toSQL();
      binding.record(this.platform.formatQuery(sql, bindings as unknown[]));
    }
    binding.quota?.beforeStatement(() => (typeof args[0] === 'string' ? args[0] : args[0].toSQL().sql));
    const { observer } = binding;
    return (observer?.timesQueries ? observer.query(binding.tenantId, () => super.execute(...args)) : super.execute(...args)) as Promise<T>;
  }

  override async begin(...args: Parameters<PostgreSqlConnection['begin']>): ReturnType<PostgreSqlConnection['begin']> {
    this.#assertUsable();
    this.getKnex();
    return super.begin(...args);
  }

  // The pool is the shared ORM's: closing a tenant's connection never ends it.
  override async close(): Promise<void> {
    this.connected = false;
  }

  // Closed through MikroORM's API, it says so until it connects again (its next query does), as a connection of its own would.
  override async checkConnection(): Promise<{ ok: true } | { ok: false; reason: string; error?: Error }> {
    this.#assertUsable();
    return this.connected ? super.checkConnection() : { ok: false, reason: 'The connection was closed (it opens again on connect() or on its next query).' };
  }

  #assertUsable(): void {
    if (!this.#binding) {
      throw TenantError.noTenantContext();
    }
    this.#binding.assertUsable?.();
  }
}

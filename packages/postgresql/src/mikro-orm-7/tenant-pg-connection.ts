import { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { PostgresDialect } from 'kysely';
import { TenantError } from '@mikro-tenant/core';
import type { TenantSchemaBinding } from '../orm-adapter.js';
import { trackSavepoint } from '@mikro-tenant/sql/mikro-orm-7';
import { poolWithSearchPath, type PgPool } from './search-path.js';

/**
 * A MikroORM 7 connection of one tenant that opens nothing of its own: kysely's PostgreSQL dialect over a
 * view of the shared ORM's pool that gives each client the tenant's `search_path` (`search-path.ts`).
 * Closing it (MikroORM's schema tools reconnect) ends only that view. It never runs MikroORM's `onConnect`
 * (which would ensure the shared database). Once its tenant is deleted, or the tenancy closed, it refuses
 * every statement with a coded error (the binding says so), whichever EntityManager or fork sends it.
 */
export class TenantPgConnection extends PostgreSqlConnection {
  #binding?: TenantSchemaBinding;

  /** Points this connection at a tenant. Must be called before the first query. */
  bind(binding: TenantSchemaBinding): void {
    this.#binding = binding;
  }

  /** The tenant this connection belongs to, if bound. */
  get binding(): TenantSchemaBinding | undefined {
    return this.#binding;
  }

  override createKyselyDialect(): PostgresDialect {
    this.#assertUsable();
    const binding = this.#binding!;
    return new PostgresDialect({ pool: poolWithSearchPath(binding.shared as () => Promise<PgPool>, binding.searchPath) as never });
  }

  // Tenant connections never ensure a database: the shared ORM's schema generator would reach the shared one.
  override async onConnect(): Promise<void> {}

  override async execute<T>(...args: Parameters<PostgreSqlConnection['execute']>): Promise<T> {
    this.#assertUsable();
    const binding = this.#binding!;
    const [query, params, method, ctx, loggerContext] = args;
    if (binding.record) {
      // A query builder's statement (toRaw()) or a raw fragment carry their own values.
      const raw = typeof query === 'string' ? { sql: query, params } : ((query as { toRaw?(): unknown }).toRaw?.() ?? query) as { sql: string; params?: unknown };
      binding.record(this.platform.formatQuery(raw.sql, (Array.isArray(raw.params) ? raw.params : []) as unknown[]));
    }
    // Statements MikroORM's own tools send without a logger context (its Migrator, schema generator) are
    // logged with the tenant too, as the tenant's EntityManagers log theirs.
    const labelled = (loggerContext as { label?: unknown } | undefined)?.label !== undefined
      ? loggerContext : { label: `tenant:${binding.tenantId}`, tenantId: binding.tenantId, ...loggerContext };
    binding.quota?.beforeStatement(() => (typeof query === 'string' ? query
      : (((query as { toRaw?(): unknown }).toRaw?.() ?? query) as { sql: string }).sql));
    const run = () => super.execute(query, params, method, ctx, labelled as never) as Promise<T>;
    const { observer } = binding;
    return observer?.timesQueries ? observer.query(binding.tenantId, run) : run();
  }

  override async begin(...args: Parameters<PostgreSqlConnection['begin']>): ReturnType<PostgreSqlConnection['begin']> {
    this.#assertUsable();
    const trx = await super.begin(...args);
    trackSavepoint(trx, args[0]?.ctx);
    return trx;
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

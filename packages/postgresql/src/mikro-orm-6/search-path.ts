/**
 * `search_path` per checkout of a pooled connection: every SQL statement MikroORM generates for a tenant
 * names the tenant's schema, but SQL the app writes itself (`em.execute()`, raw fragments, formulas,
 * virtual entities, migrations) names bare tables. A tenant's statements therefore run with `search_path`
 * set to the tenant's schema and then the shared one, and the shared ORM's with the role's default, so
 * bare names resolve as they do in a one-schema app and shared SQL never lands in a tenant schema.
 *
 * The path is set when a connection is taken from the pool, and only when the connection's last user
 * wanted another one (one `SET` per switch between tenants, none for a tenant served by the same
 * connection again). A transaction keeps its connection, so its statements all see the same path.
 * @module
 */
import type { Knex } from 'knex';

/** A pooled pg client, as knex hands it out. */
interface PgClient {
  query(sql: string): Promise<unknown>;
}

type Acquire = () => Promise<PgClient>;

/** The `search_path` we last set on each physical connection; absent: the role's default. */
const pathOf = new WeakMap<object, string>();
/** The knex client's own `acquireConnection`, before {@link keepDefaultSearchPath} replaced it. */
const ORIGINAL_ACQUIRE = Symbol('mikro-tenant.acquireConnection');
/** A marker for a connection whose path is unknown (a SET failed on it). */
const UNKNOWN = '\0unknown';

/** Quotes an identifier for SQL (schema names are validated before they get here; quoting is the second wall). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The `search_path` of a tenant: its schema first, then the shared schema. */
export function tenantSearchPath(schema: string, sharedSchema: string): string {
  return schema === sharedSchema ? quoteIdentifier(schema) : `${quoteIdentifier(schema)}, ${quoteIdentifier(sharedSchema)}`;
}

async function ensurePath(client: Knex.Client, connection: PgClient, path: string | undefined): Promise<PgClient> {
  const current = pathOf.get(connection);
  if (current === path) {
    return connection;
  }
  try {
    await connection.query(path === undefined ? 'reset search_path' : `set search_path to ${path}`);
  } catch (error) {
    pathOf.set(connection, UNKNOWN);
    await client.releaseConnection(connection);
    throw error;
  }
  if (path === undefined) {
    pathOf.delete(connection);
  } else {
    pathOf.set(connection, path);
  }
  return connection;
}

function originalAcquire(client: Knex.Client): Acquire {
  const own = (client as unknown as { [ORIGINAL_ACQUIRE]?: Acquire })[ORIGINAL_ACQUIRE];
  return (own ?? client.acquireConnection).bind(client) as Acquire;
}

/**
 * Makes the shared ORM's knex client hand out connections with the role's default `search_path`
 * (reset where a tenant's was set). Idempotent per client.
 */
export function keepDefaultSearchPath(client: Knex.Client): void {
  const holder = client as unknown as { [ORIGINAL_ACQUIRE]?: Acquire; acquireConnection: Acquire };
  if (holder[ORIGINAL_ACQUIRE]) {
    return;
  }
  const acquire = client.acquireConnection.bind(client) as Acquire;
  holder[ORIGINAL_ACQUIRE] = acquire;
  holder.acquireConnection = async () => ensurePath(client, await acquire(), undefined);
}

/**
 * A view of the shared knex client (same pool, same settings) that hands out connections with
 * `search_path` set to `path`.
 */
export function clientWithSearchPath(shared: Knex.Client, path: string): Knex.Client {
  const acquire = originalAcquire(shared);
  const view = Object.create(shared) as Knex.Client & { acquireConnection: Acquire };
  view.acquireConnection = async () => ensurePath(shared, await acquire(), path);
  return view;
}

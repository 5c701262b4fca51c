/**
 * `search_path` per use of a pooled connection, on MikroORM 7 (kysely over a `pg` pool): every SQL
 * statement MikroORM generates for a tenant names the tenant's schema, but SQL the app writes itself
 * (`em.execute()`, raw fragments, formulas, virtual entities, migrations) names bare tables. A tenant's
 * statements therefore run with `search_path` set to the tenant's schema and then the shared one, and the
 * shared ORM's with the role's default, so bare names resolve as in a one-schema app and shared SQL never
 * lands in a tenant schema.
 *
 * Kysely takes a client from the pool for each statement, or for a whole transaction. Whoever takes one
 * says which path it wants; the path is set (a statement of its own, before any `BEGIN`, so it is never
 * undone by a rollback) only when the client's last user wanted another one.
 * @module
 */

/** A pooled `pg` client, as the pool hands it out. */
export interface PgPoolClient {
  query(sql: string): Promise<unknown>;
  release(error?: Error | boolean): void;
}

/** What kysely's `PostgresDialect` uses of a `pg` pool. */
export interface PgPool {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
}

/** The role's default `search_path` (what a fresh connection has). */
const DEFAULT = '\0default';
/** The path each physical connection has now; absent: the default. */
const pathOf = new WeakMap<object, string>();
const ORIGINAL_CONNECT = Symbol('mikro-tenant.connect');

type Connect = () => Promise<PgPoolClient>;

/** Takes a client from `connect` and gives it `path` (when its last user had another), releasing it on failure. */
async function connectWithPath(connect: Connect, path: string): Promise<PgPoolClient> {
  const client = await connect();
  if ((pathOf.get(client) ?? DEFAULT) !== path) {
    try {
      await client.query(path === DEFAULT ? 'reset search_path' : `set search_path to ${path}`);
      pathOf.set(client, path);
    } catch (error) {
      // A client whose path is unknown goes back broken: the pool drops it.
      client.release(error as Error);
      throw error;
    }
  }
  return client;
}

function originalConnect(pool: PgPool): Connect {
  // The shared pool's own connect (before keepDefaultSearchPath), so the path is set once, to the tenant's.
  const own = (pool as unknown as { [ORIGINAL_CONNECT]?: Connect })[ORIGINAL_CONNECT];
  return own ?? pool.connect.bind(pool);
}

/**
 * Makes the shared ORM's pool hand out clients with the role's default `search_path` (reset where a tenant's
 * was set). Idempotent per pool.
 */
export function keepDefaultSearchPath(pool: PgPool): void {
  const holder = pool as unknown as { [ORIGINAL_CONNECT]?: Connect; connect: Connect };
  if (holder[ORIGINAL_CONNECT]) {
    return;
  }
  const connect = pool.connect.bind(pool) as Connect;
  holder[ORIGINAL_CONNECT] = connect;
  holder.connect = () => connectWithPath(connect, DEFAULT);
}

/**
 * A view of the shared pool (same clients, same settings) whose clients run their statements with
 * `search_path` set to `path`, transactions included. Ending it ends nothing: the pool is the shared ORM's.
 */
export function poolWithSearchPath(pool: () => Promise<PgPool>, path: string): PgPool {
  return {
    connect: async () => connectWithPath(originalConnect(await pool()), path),
    end: async () => undefined,
  };
}

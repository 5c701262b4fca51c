/**
 * `search_path` per use of a pooled connection, on MikroORM 7 (kysely over a `pg` pool): every SQL
 * statement MikroORM generates for a tenant names the tenant's schema, but SQL the app writes itself
 * (`em.execute()`, raw fragments, formulas, virtual entities, migrations) names bare tables. A tenant's
 * statements therefore run with `search_path` set to the tenant's schema and then the shared one, and the
 * shared ORM's with the role's default, so bare names resolve as in a one-schema app and shared SQL never
 * lands in a tenant schema.
 *
 * Kysely takes a client from the pool for each statement, or for a whole transaction. Whoever takes one
 * says which path it wants; the path is set only when the client's last user wanted another one, and in
 * the same round trip as the client's next statement where that is safe: MikroORM 7 sends statements
 * with their values inline, and a query without parameters goes to PostgreSQL as one simple query,
 * `set search_path to ...; <statement>` (a second round trip per request cost more CPU in this process
 * than the rest of the tenant's path). Other statements (with parameters, a cursor, a transaction's
 * `BEGIN`, see `SAME_ROUND_TRIP`) get the path in a statement of its own before them, so a rollback
 * never undoes it. A failed
 * simple query may have undone its `set`: the client's path is then unknown and set again by its next user.
 * @module
 */

/** A pooled `pg` client, as the pool hands it out. */
export interface PgPoolClient {
  query(...args: unknown[]): unknown;
  release(error?: Error | boolean): void;
}

/** What kysely's `PostgresDialect` uses of a `pg` pool. */
export interface PgPool {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
}

/** The role's default `search_path` (what a fresh connection has). */
const DEFAULT = '\0default';
/** A path a failed statement may have undone along with itself. */
const UNKNOWN = '\0unknown';
/** The path each physical connection has now; absent: the default. */
const pathOf = new WeakMap<object, string>();
/** The path a connection's current user wants, set with its next statement. */
const pendingOf = new WeakMap<object, string>();
/** Connections whose `query` sets a pending path first. */
const deferring = new WeakSet<object>();
const ORIGINAL_CONNECT = Symbol('mikro-tenant.connect');
/**
 * Statements that may share a simple query with the `set`: that query runs as one implicit transaction,
 * which would take in a `BEGIN`'s transaction and which `VACUUM`, `CREATE INDEX CONCURRENTLY` and the
 * like refuse; anything else gets the `set` in a round trip of its own.
 */
const SAME_ROUND_TRIP = /^\s*(select|insert|update|delete|with)\b/i;

type Connect = () => Promise<PgPoolClient>;
type QueryResult = { rows?: unknown[] } | { rows?: unknown[] }[];

function setPathSql(path: string): string {
  return path === DEFAULT ? 'reset search_path' : `set search_path to ${path}`;
}

/** Takes a client from `connect` that runs its next statement with `path` (when its last user had another). */
async function connectWithPath(connect: Connect, path: string): Promise<PgPoolClient> {
  const client = await connect();
  if ((pathOf.get(client) ?? DEFAULT) === path) {
    pendingOf.delete(client);
  } else {
    deferPathSetting(client);
    pendingOf.set(client, path);
  }
  return client;
}

/** Makes `client.query` set the client's pending path first (once per client). */
function deferPathSetting(client: PgPoolClient): void {
  if (deferring.has(client)) {
    return;
  }
  deferring.add(client);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = (...args: unknown[]) => {
    const path = pendingOf.get(client);
    if (path === undefined) {
      return query(...args);
    }
    pendingOf.delete(client);
    pathOf.set(client, UNKNOWN);
    const [text, values, callback] = args;
    const plain = typeof text === 'string' && callback === undefined && (values === undefined || (Array.isArray(values) && values.length === 0));
    if (plain && SAME_ROUND_TRIP.test(text)) {
      return (query(`${setPathSql(path)};\n${text}`) as Promise<QueryResult>).then(results => {
        pathOf.set(client, path);
        // The statement's own result(s), as it would have had alone.
        const rest = Array.isArray(results) ? results.slice(1) : [results];
        return rest.length === 1 ? rest[0] : rest;
      });
    }
    const setting = query(setPathSql(path)) as Promise<unknown>;
    if (typeof text === 'string' && typeof callback !== 'function' && typeof values !== 'function') {
      return setting.then(() => {
        pathOf.set(client, path);
        return query(...args);
      });
    }
    // A cursor or a callback returns synchronously: the client's queue runs the `set` before it.
    setting.then(() => pathOf.set(client, path), () => undefined);
    return query(...args);
  };
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

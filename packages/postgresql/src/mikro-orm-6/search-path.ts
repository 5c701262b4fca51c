/**
 * `search_path` per use of a pooled connection: every SQL statement MikroORM generates for a tenant names
 * the tenant's schema, but SQL the app writes itself (`em.execute()`, raw fragments, formulas, virtual
 * entities, migrations) names bare tables. A tenant's statements therefore run with `search_path` set to
 * the tenant's schema and then the shared one, and the shared ORM's with the role's default, so bare names
 * resolve as in a one-schema app and shared SQL never lands in a tenant schema.
 *
 * Whoever takes a connection from the pool says which path it wants; the path is changed only when the
 * connection's last user wanted another one, and then in the same round trip as the statement: MikroORM 6
 * sends its statements with their values inline, as simple queries, which PostgreSQL runs one after the
 * other in one implicit transaction, so `set search_path to ...; <statement>` costs no extra round trip.
 * (Statements with bound values get a `SET` of their own.) A `SET` in front of `BEGIN` becomes part of that
 * transaction, whose other statements are sent as they are: a `ROLLBACK`, or any error, forgets what the
 * connection's path is, so its next use sets it again.
 * @module
 */
import type { Knex } from 'knex';

/** A pooled pg client, as knex hands it out. */
interface PgClient {
  query(sql: string): Promise<unknown>;
}

/** A statement as knex passes it to its dialect. */
interface QueryObject {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
}

type RunQuery = (this: Knex.Client, connection: PgClient, obj: QueryObject) => Promise<QueryObject>;
type Acquire = () => Promise<PgClient>;

/** The role's default `search_path` (what a fresh connection has). */
const DEFAULT = '\0default';
/** A connection whose path nobody knows (a statement failed, or a transaction rolled back). */
const UNKNOWN = '\0unknown';
/** The path each physical connection has now; absent: the default. */
const pathOf = new WeakMap<object, string>();
/** The path each physical connection's current user wants. */
const wanted = new WeakMap<object, string>();
const PATCHED = Symbol('mikro-tenant.searchPath');
const ORIGINAL_ACQUIRE = Symbol('mikro-tenant.acquireConnection');
const FULL_ROLLBACK = /^\s*rollback\s*;?\s*$/i;
const BEGIN = /^\s*(begin|start\s+transaction)\b/i;

function setStatement(path: string): string {
  return path === DEFAULT ? 'reset search_path' : `set search_path to ${path}`;
}

/**
 * Makes a knex PostgreSQL dialect (the class of `client`) set the wanted `search_path` on the statements
 * of connections whose user said which path it wants; other connections are left as they are. Once per class.
 */
function patchDialect(client: Knex.Client): void {
  const proto = Object.getPrototypeOf(client) as { _query: RunQuery };
  if (Object.prototype.hasOwnProperty.call(proto, PATCHED)) {
    return;
  }
  const run = proto._query;
  Object.defineProperty(proto, PATCHED, { value: true });
  proto._query = async function runWithSearchPath(this: Knex.Client, connection, obj) {
    const want = wanted.get(connection);
    const current = pathOf.get(connection) ?? DEFAULT;
    // Inside a transaction the path is the one set with its BEGIN; a SET after an error would fail, ROLLBACK included.
    const inTransaction = (this as { transacting?: boolean }).transacting === true && !BEGIN.test(obj.sql);
    try {
      if (want === undefined || want === current || inTransaction) {
        return await run.call(this, connection, obj);
      }
      if (obj.bindings?.length) {
        await connection.query(setStatement(want));
        pathOf.set(connection, want);
        return await run.call(this, connection, obj);
      }
      const prefixed: QueryObject = { ...obj, sql: `${setStatement(want)};\n${obj.sql}` };
      await run.call(this, connection, prefixed);
      pathOf.set(connection, want);
      const responses = prefixed.response as unknown[];
      obj.response = responses.length === 2 ? responses[1] : responses.slice(1);
      return obj;
    } catch (error) {
      pathOf.set(connection, UNKNOWN);
      throw error;
    } finally {
      if (FULL_ROLLBACK.test(obj.sql)) {
        pathOf.set(connection, UNKNOWN);
      }
    }
  };
}

function originalAcquire(client: Knex.Client): Acquire {
  const own = (client as unknown as { [ORIGINAL_ACQUIRE]?: Acquire })[ORIGINAL_ACQUIRE];
  return (own ?? client.acquireConnection).bind(client) as Acquire;
}

/**
 * Makes the shared ORM's knex client hand out connections that run its statements with the role's
 * default `search_path` (reset where a tenant's was set). Idempotent per client.
 */
export function keepDefaultSearchPath(client: Knex.Client): void {
  const holder = client as unknown as { [ORIGINAL_ACQUIRE]?: Acquire; acquireConnection: Acquire };
  if (holder[ORIGINAL_ACQUIRE]) {
    return;
  }
  patchDialect(client);
  const acquire = client.acquireConnection.bind(client) as Acquire;
  holder[ORIGINAL_ACQUIRE] = acquire;
  holder.acquireConnection = async () => {
    const connection = await acquire();
    wanted.set(connection, DEFAULT);
    return connection;
  };
}

/**
 * A view of the shared knex client (same pool, same settings) whose connections run their statements
 * with `search_path` set to `path`, transactions included.
 */
export function clientWithSearchPath(shared: Knex.Client, path: string): Knex.Client {
  patchDialect(shared);
  const acquire = originalAcquire(shared);
  const view = Object.create(shared) as Knex.Client & { acquireConnection: Acquire };
  view.acquireConnection = async () => {
    const connection = await acquire();
    wanted.set(connection, path);
    return connection;
  };
  return view;
}

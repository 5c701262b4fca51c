import type { SqlTransactions } from '../sql-transactions.js';

/** A kysely transaction as MikroORM 7 keeps it in its transaction context. */
interface KyselyTransaction {
  readonly isCommitted?: boolean;
  readonly isRolledBack?: boolean;
}

/** The transaction each savepoint was opened in (kysely's savepoint transactions do not point to it). */
const parents = new WeakMap<object, object>();

/**
 * Records that `trx` is a savepoint opened inside `parent` (MikroORM 7's `connection.begin({ ctx })`).
 * Called by the connections that open transactions (tenant connections, the guarded shared driver's).
 */
export function trackSavepoint(trx: object, parent: object | undefined): void {
  if (parent && parent !== trx) {
    parents.set(trx, parent);
  }
}

function rootOf(trx: object): object {
  let root = trx;
  for (let parent = parents.get(root); parent; parent = parents.get(root)) {
    root = parent;
  }
  return root;
}

/**
 * MikroORM 7's transaction contexts are kysely `ControlledTransaction`s: the outermost one says whether it
 * committed or rolled back; a savepoint's own flags never change (kysely returns new objects on release),
 * so a savepoint has ended when its outermost transaction has. Passed to core's registry and deletion
 * subscriber, which know nothing of kysely.
 */
export const kyselyTransactions: SqlTransactions = Object.freeze({
  parentOf: (trx: object) => parents.get(trx),
  isCompleted: (trx: unknown) => {
    if (typeof trx !== 'object' || trx === null) {
      return false;
    }
    const root = rootOf(trx) as KyselyTransaction;
    return root.isCommitted === true || root.isRolledBack === true;
  },
  rootOf,
});

interface BeginningConnection {
  begin(options?: { ctx?: object }): Promise<object>;
  __mikroTenantSavepoints?: true;
}

/**
 * Makes `connection` record the transaction each of its savepoints is opened in (see {@link trackSavepoint}),
 * so that {@link kyselyTransactions} can tell when a savepoint's work is committed. Once per connection.
 */
export function trackSavepointsOf(connection: unknown): void {
  const target = connection as BeginningConnection;
  if (target.__mikroTenantSavepoints) {
    return;
  }
  const begin = target.begin.bind(target);
  Object.defineProperty(target, '__mikroTenantSavepoints', { value: true });
  target.begin = async function beginTracked(options?: { ctx?: object }) {
    const trx = await begin(options);
    trackSavepoint(trx, options?.ctx);
    return trx;
  };
}

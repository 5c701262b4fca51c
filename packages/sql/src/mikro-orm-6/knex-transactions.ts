import type { SqlTransactions } from '../sql-transactions.js';

/** A knex transaction as MikroORM 6 keeps it in its transaction context. */
interface KnexTransaction {
  isCompleted?(): boolean;
}

/** knex keeps the enclosing transaction of a nested one (a savepoint) under a symbol of this description. */
function parentOf(trx: object): object | undefined {
  const symbol = Object.getOwnPropertySymbols(trx).find(s => s.description === 'parentTransaction');
  return symbol ? (trx as Record<symbol, object | undefined>)[symbol] : undefined;
}

/**
 * MikroORM 6's transaction contexts are knex transactions: one that has ended says so through
 * `isCompleted()`, and a nested one (a savepoint) points to its parent. Passed to core's registry and
 * deletion subscriber, which know nothing of knex, and to the SQLite strategy's shared-write router.
 */
export const knexTransactions: SqlTransactions = Object.freeze({
  parentOf,
  isCompleted: (trx: unknown) => (trx as KnexTransaction | undefined)?.isCompleted?.() ?? false,
  rootOf: (trx: object) => {
    let root = trx;
    for (let parent = parentOf(trx); parent; parent = parentOf(parent)) {
      root = parent;
    }
    return root;
  },
});

/**
 * What core needs to know about the transaction handles a strategy's driver uses (the values of
 * `em.getTransactionContext()`, e.g. knex transactions for MikroORM 6's SQL drivers). Core never looks
 * inside them itself: the strategy package, which knows its driver, implements this and passes it in.
 */
export interface TransactionInspector {
  /** True when `trx` has committed or rolled back (after-commit hooks still see it as the context). */
  isCompleted(trx: unknown): boolean;
  /** The outermost transaction `trx` is nested in (savepoints), or `trx` itself when it is not nested. */
  rootOf(trx: object): object;
}

/**
 * For drivers whose transaction handles are never nested and never left in the context after they
 * end. Strategies whose handles can be either must pass their own {@link TransactionInspector}.
 */
export const FLAT_TRANSACTIONS: TransactionInspector = Object.freeze({
  isCompleted: () => false,
  rootOf: (trx: object) => trx,
});

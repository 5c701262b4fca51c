/**
 * What the SQL strategies need to know of a MikroORM transaction object, either major.
 * @module
 */
import type { TransactionInspector } from '@mikro-tenant/core';

/** Core's view of a transaction (ended? outermost?) plus the link from a savepoint to its parent. */
export interface SqlTransactions extends TransactionInspector {
  /** The transaction a nested one (a savepoint) was opened in, if it is nested. */
  parentOf(trx: object): object | undefined;
}

/**
 * The library's own way to the shared database. Inside a tenant scope MikroORM's contexts (and so
 * `orm.em`) resolve to the tenant, so the registry, `createTenant()` and the deletion subscriber must
 * not ask them: they use this, which never hands out a tenant's EntityManager and joins the shared
 * transaction the caller has open (waiting for the connection that transaction holds would never end).
 * @module
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { currentContextTenantScope, tenantContextEntityManager } from '@mikro-tenant/core';
import { SharedWriteRouter, type SharedDriver, type SqlTransactions, type Transaction } from './shared-write-router.js';

/** Resolves the shared EntityManager and transaction for library work, and routes tenants' shared writes. */
export class SharedAccess {
  /** Routes writes of shared entities made through tenant EntityManagers to the shared connection. */
  readonly router: SharedWriteRouter;
  readonly #orm: MikroORM<any, any>;
  readonly #transactions: SqlTransactions;
  /** A shared EntityManager outside every context, for statements outside transactions. */
  readonly #base: EntityManager;

  /**
   * @param orm the shared ORM (call before any tenant scope exists)
   * @param transactions what the shared driver's transactions are (the installed major's)
   * @param isShared whether an entity (class name) lives in the shared database
   */
  constructor(orm: MikroORM<any, any>, transactions: SqlTransactions, isShared: (entityName: string) => boolean) {
    this.#orm = orm;
    this.#transactions = transactions;
    this.#base = orm.em.fork({ disableContextResolution: true });
    this.router = new SharedWriteRouter(orm.em.getDriver() as unknown as SharedDriver, transactions, isShared, () => this.outerTransaction());
  }

  /**
   * The shared transaction open around the caller: outside a tenant scope the shared ORM's context
   * transaction; inside one, the one that was open when the scope was entered.
   */
  outerTransaction(): Transaction | undefined {
    const scope = currentContextTenantScope();
    const em = scope ? scope.outerShared : this.#orm.em.getContext(false);
    const trx = em?.getTransactionContext() as Transaction | undefined;
    return this.#isOpen(trx) ? trx : undefined;
  }

  /**
   * The shared EntityManager for the library's work now: inside a tenant transaction that wrote shared
   * rows, one in the shared transaction bound to it; else the caller's shared transaction or context
   * EntityManager; never a tenant's.
   */
  em(): EntityManager {
    const scope = currentContextTenantScope();
    if (!scope) {
      return this.#orm.em.getContext(false);
    }
    const tenantTrx = tenantContextEntityManager(scope.em).getTransactionContext() as Transaction | undefined;
    const routed = this.router.readTransaction(tenantTrx);
    if (this.#isOpen(routed)) {
      const em = this.#base.fork();
      em.setTransactionContext(routed);
      return em;
    }
    return scope.outerShared ?? this.#base;
  }

  #isOpen(trx: Transaction | undefined): trx is Transaction {
    return trx !== undefined && !this.#transactions.isCompleted(trx);
  }
}

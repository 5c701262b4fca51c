import type { EntityManager, Options } from '@mikro-orm/core';
import type { TransactionInspector } from '@mikro-tenant/core';
import type { OrmAdapter } from './orm-adapter.js';
import { DEFAULT_PRAGMAS, pragmaStatements, type PragmaValue } from './sqlite-setup.js';

/**
 * Pragmas of the shared database's connection unless overridden (`tenancy.sharedPragmas`). WAL lets
 * tenant connections read the ATTACHed shared file while the app writes to it (with SQLite's default
 * rollback journal every such read blocks the writer), and NORMAL sync in WAL mode makes each registry
 * insert a fraction of the cost of `synchronous=FULL` with a rollback journal.
 */
export const DEFAULT_SHARED_PRAGMAS: Readonly<Record<string, PragmaValue>> = Object.freeze({
  journal_mode: 'WAL',
  synchronous: 'NORMAL',
  busy_timeout: 5000,
  foreign_keys: true,
});

/**
 * The shared ORM's options with `pragmas` applied to each connection MikroORM opens, before the
 * user's own hook (`pool.afterCreate` in MikroORM 6, `onCreateConnection` in 7), which runs after ours
 * and can override them. `false` leaves the options as they are.
 * @throws TenantError `ERR_INVALID_OPTION` for a pragma name or value that is not a plain word
 */
export function withSharedPragmas(orm: OrmAdapter, options: Options, pragmas: Record<string, PragmaValue | null> | false): Options {
  if (pragmas === false) {
    return options;
  }
  return orm.withConnectionSetup(options, sharedPragmaStatements(pragmas));
}

/**
 * Statements for the shared connection: {@link DEFAULT_SHARED_PRAGMAS} with `overrides` merged over them (`null` drops one).
 * @throws TenantError `ERR_INVALID_OPTION` naming `tenancy.sharedPragmas.<name>`
 */
export function sharedPragmaStatements(overrides: Record<string, PragmaValue | null>): string[] {
  // pragmaStatements() merges over the tenant defaults: drop those, then state the shared ones.
  const noTenantDefaults = Object.fromEntries(Object.keys(DEFAULT_PRAGMAS).map(name => [name, null]));
  return pragmaStatements({ ...noTenantDefaults, ...DEFAULT_SHARED_PRAGMAS, ...overrides }, 'tenancy.sharedPragmas');
}

/**
 * True when code running now is inside an open transaction of `em` (of the shared ORM): statements
 * sent outside that transaction wait for its connection until it ends.
 */
export function inOpenTransaction(em: EntityManager, transactions: TransactionInspector): boolean {
  const trx = em.getContext(false).getTransactionContext();
  return trx !== undefined && !transactions.isCompleted(trx);
}

/**
 * The MikroORM 6 implementation of {@link RowOrmAdapter}: `@mikro-orm/knex` (knex). Loaded by
 * `loadOrmAdapter()` when 6 is installed.
 * @module
 */
import { Utils } from '@mikro-orm/core';
import type { AbstractSqlConnection, SqlEntityManager } from '@mikro-orm/knex';
import type { EntityManagerClass, RowOrmAdapter } from '../orm-adapter.js';
import { refuseEndedLives } from './ended-lives-guard.js';
import { knexTransactions } from '@mikro-tenant/sql/mikro-orm-6';
import { rowEntityManagerClass, rowEntityManagerParts, sqlEntityManagerBase } from './row-entity-manager.js';
import { ScopePerTransaction, bindScopePerStatement } from './row-security-binding.js';

const connectionOf = (connection: unknown) => connection as AbstractSqlConnection;

/** MikroORM 6's half of the row strategy. */
export const adapter: RowOrmAdapter = Object.freeze<RowOrmAdapter>({
  version: Utils.getORMVersion(),
  major: 6,
  transactions: knexTransactions,
  sqlEntityManagerBase: given => sqlEntityManagerBase(given) as unknown as EntityManagerClass,
  rowEntityManagerClass: (Base, settings) => rowEntityManagerClass(Base as unknown as typeof SqlEntityManager, settings) as unknown as EntityManagerClass,
  driverEntityName: rowEntityManagerParts.driverEntityName,
  bindScopePerStatement: connection => bindScopePerStatement(connectionOf(connection)),
  scopePerTransaction: () => new ScopePerTransaction(),
  refuseEndedLives: (connection, incarnations) => refuseEndedLives(connectionOf(connection), incarnations),
});

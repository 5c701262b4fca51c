/**
 * `@mikro-tenant/sql/mikro-orm-6`: the SQL strategies' shared code for MikroORM 6 (`@mikro-orm/knex`).
 * @module
 */
export { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS, guardSharedDriver } from './shared-driver-guard.js';
export { knexTransactions } from './knex-transactions.js';

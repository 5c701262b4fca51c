import { quoteIdentifier } from './identifiers.js';

/** DDL of MikroORM's migrations table (as its Migrator creates it, on 6 and 7), in `schema`. */
export function migrationsTableSql(schema: string, table: string): string {
  return `create table if not exists ${quoteIdentifier(schema)}.${quoteIdentifier(table)} `
    + '("id" serial primary key, "name" varchar(255), "executed_at" timestamptz default current_timestamp)';
}

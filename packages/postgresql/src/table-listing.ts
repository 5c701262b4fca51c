/**
 * MikroORM's schema tools (6 and 7) read the database's table list (`getListTablesSQL()`: every table of every
 * schema) before diffing. For the shared ORM that list would hold every tenant's tables, and a table it
 * does not know there (a tenant's migrations table, say) made `orm.schema.updateSchema()` drop that
 * tenant's schema. Each schema helper here lists only the schemas its side owns: the shared ORM's the
 * shared schemas, a tenant's its own schema (which also keeps a tenant's diff from reading every tenant).
 * @module
 */

/** What this needs of MikroORM's schema helper. */
interface ListsTables {
  getListTablesSQL(): string;
}

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Makes `helper` list the tables of `schemas()` only (read on each listing). */
export function listTablesOnlyIn(helper: ListsTables, schemas: () => readonly string[]): void {
  const listAll = helper.getListTablesSQL.bind(helper);
  helper.getListTablesSQL = () => `select * from (${listAll()}) as listed where listed.schema_name in (${schemas().map(literal).join(', ')}) order by listed.table_name`;
}

import { SqlSchemaGenerator } from '@mikro-orm/knex';

/**
 * MikroORM 6's SQL schema generator bound to one EntityManager (a tenant's): it reads and changes that
 * EntityManager's database only. (MikroORM 7 moves it to `@mikro-orm/sql`.)
 */
export function schemaGeneratorFor(em: ConstructorParameters<typeof SqlSchemaGenerator>[0]): SqlSchemaGenerator {
  return new SqlSchemaGenerator(em);
}

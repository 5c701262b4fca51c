import type { MikroORM } from '@mikro-orm/core';
import { SqlSchemaGenerator } from '@mikro-orm/knex';

/**
 * MikroORM 6's SQL schema generator bound to one EntityManager (a tenant's): it reads and changes that
 * EntityManager's database only. (MikroORM 7 moves it to `@mikro-orm/sql`.)
 */
export function schemaGeneratorFor(em: ConstructorParameters<typeof SqlSchemaGenerator>[0]): SqlSchemaGenerator {
  return new SqlSchemaGenerator(em);
}

/**
 * Makes the shared ORM's schema generator (and migrations diffing) skip the per-tenant tables. The
 * generator is cached by MikroORM with its options copied at construction, so both are updated.
 */
export function skipTablesInSharedSchema(orm: MikroORM<any, any>, tables: string[]): void {
  const generator = orm.config.get('schemaGenerator');
  const options = { ...generator, skipTables: [...(generator.skipTables ?? []), ...tables] };
  orm.config.set('schemaGenerator', options);
  (orm.schema as unknown as { options: typeof options }).options = options;
}

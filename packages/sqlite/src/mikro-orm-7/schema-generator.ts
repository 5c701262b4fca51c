import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { SqlSchemaGenerator } from '@mikro-orm/sql';
import type { SharedSchemaTools, TenantSchemaTools } from '../orm-adapter.js';

/** MikroORM 7's SQL schema generator on a tenant's EntityManager: it reads and changes that tenant's database only. */
export function tenantSchemaTools(em: EntityManager): TenantSchemaTools {
  const generator = new SqlSchemaGenerator(em as never);
  return {
    createSql: () => generator.getCreateSchemaSQL({ wrap: false }),
    updateSql: () => generator.getUpdateSchemaSQL({ wrap: false, safe: true }),
    update: () => generator.update({ safe: true }),
  };
}

/** The shared ORM's schema generator (`orm.schema`). */
export function sharedSchemaTools(orm: MikroORM): SharedSchemaTools {
  const generator = () => orm.schema as unknown as SqlSchemaGenerator;
  return {
    create: () => generator().create(),
    update: () => generator().update(),
    drop: () => generator().drop(),
  };
}

/**
 * Makes the shared ORM's schema generator (and migrations diffing) skip the per-tenant tables. The
 * generator is cached by MikroORM with its options copied at construction, so both are updated.
 */
export function skipTablesInSharedSchema(orm: MikroORM, tables: string[]): void {
  const generator = orm.config.get('schemaGenerator');
  const options = { ...generator, skipTables: [...(generator.skipTables ?? []), ...tables] };
  orm.config.set('schemaGenerator', options);
  (orm.schema as unknown as { options: typeof options }).options = options;
}

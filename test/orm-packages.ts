/**
 * What a test needs of MikroORM's packages that differ between its majors, loaded for the installed one:
 * the suite type-checks against MikroORM 6's typings and runs on 6 and 7 (`npm run test:mikro-orm-7`).
 * @module
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Knex6 from '@mikro-orm/knex';
import type { Options } from '@mikro-orm/core';
import { ormAdapter } from './helpers.js';

// require(), as test files are loaded (mocha's require() through tsx): one copy of each package.
const requireHere = createRequire(import.meta.url);

/**
 * The file URL of a package as this run resolves it, for code written to files outside the repository
 * (configs, scripts): from the MikroORM 7 run's own install (see scripts/mikro-orm-7/), else from here.
 */
export function moduleUrl(name: string): string {
  const deps = process.env.MIKRO_ORM_7_DEPS;
  const from = deps ? createRequire(join(deps, 'package.json')) : requireHere;
  return pathToFileURL(from.resolve(name)).href;
}

/** MikroORM's SQL package: `@mikro-orm/knex` on 6, `@mikro-orm/sql` on 7 (typed as 6's: their common API). */
export function sqlPackage(): typeof Knex6 {
  return requireHere(ormAdapter().major === 6 ? '@mikro-orm/knex' : '@mikro-orm/sql') as typeof Knex6;
}

/** MikroORM's decorators that make request contexts and transactions: in `@mikro-orm/core` on 6, `@mikro-orm/decorators/legacy` on 7. */
export function contextDecorators(): Pick<typeof import('@mikro-orm/core'), 'CreateRequestContext' | 'EnsureRequestContext' | 'Transactional'> {
  return requireHere(ormAdapter().major === 6 ? '@mikro-orm/core' : '@mikro-orm/decorators/legacy') as ReturnType<typeof contextDecorators>;
}

/** The SQLite driver class a plain MikroORM app uses: 6's `BetterSqliteDriver`, 7's `SqliteDriver`. */
export function sqliteDriver(): NonNullable<Options['driver']> {
  return ormAdapter().defaultDriver;
}

/** MikroORM's schema generator methods under the names of both majors (6: `updateSchema()`, 7: `update()`...). */
export interface SchemaGenerator {
  /** `createSchema()` on 6, `create()` on 7. */
  create(): Promise<void>;
  getCreateSchemaSQL(options?: { wrap?: boolean }): Promise<string>;
  getUpdateSchemaSQL(options?: { wrap?: boolean; safe?: boolean }): Promise<string>;
  /** `updateSchema()` on 6, `update()` on 7. */
  update(): Promise<void>;
  /** `refreshDatabase()` on 6, `refresh()` on 7. */
  refresh(): Promise<void>;
  /** `dropSchema()` on 6, `drop()` on 7. */
  drop(): Promise<void>;
}

/** Wraps MikroORM's schema generator (`orm.schema`, or one made for an EntityManager) in {@link SchemaGenerator}. */
export function schemaGenerator(generator: object): SchemaGenerator {
  const g = generator as Record<string, (options?: object) => Promise<unknown>>;
  const call = (six: string, seven: string) => () => (g[six] ?? g[seven])!.call(g) as Promise<void>;
  return {
    getCreateSchemaSQL: options => g.getCreateSchemaSQL!.call(g, options) as Promise<string>,
    getUpdateSchemaSQL: options => g.getUpdateSchemaSQL!.call(g, options) as Promise<string>,
    create: call('createSchema', 'create'),
    update: call('updateSchema', 'update'),
    refresh: call('refreshDatabase', 'refresh'),
    drop: call('dropSchema', 'drop'),
  };
}

/** `em.addFilter()`: 6 takes `(name, cond, entity)`, 7 one object `{ name, cond, entity }`. */
export function addFilter(em: object, name: string, cond: object, entity: unknown): void {
  const add = (em as { addFilter(...args: unknown[]): void }).addFilter.bind(em);
  if (ormAdapter().major === 6) {
    add(name, cond, entity);
  } else {
    add({ name, cond, entity });
  }
}

/** `em.findByCursor()`: 6 takes `(entity, where, options)`, 7 `(entity, { where, ...options })`. */
export function findByCursor<T>(em: object, entity: unknown, where: object, options: object): Promise<T> {
  const find = (em as { findByCursor(...args: unknown[]): Promise<T> }).findByCursor.bind(em);
  return ormAdapter().major === 6 ? find(entity, where, options) : find(entity, { where, ...options });
}

/**
 * Runs SQL with bindings through the query-builder library under MikroORM (knex's `raw()` on 6, kysely's
 * `CompiledQuery.raw()` on 7), in `em`'s open transaction if it has one: the caller's own SQL, as an app sends it.
 */
export async function rawThroughQueryBuilder(em: object, sql: string, bindings: unknown[]): Promise<unknown> {
  const trx = (em as { getTransactionContext(): unknown }).getTransactionContext();
  if (ormAdapter().major === 6) {
    const query = (em as { getKnex(): { raw(sql: string, bindings: unknown[]): { transacting(trx: unknown): unknown } } }).getKnex().raw(sql, bindings);
    return trx ? query.transacting(trx) : query;
  }
  const { CompiledQuery } = requireHere('kysely') as { CompiledQuery: { raw(sql: string, parameters: unknown[]): unknown } };
  type Executor = { executeQuery(query: unknown): Promise<unknown> };
  const executor = (trx ?? (em as { getKysely(): unknown }).getKysely()) as Executor;
  return executor.executeQuery(CompiledQuery.raw(sql, bindings));
}

/**
 * Reads one column of a table through the query-builder library's own builder (compiled by knex on 6, by
 * kysely's query compiler on 7), outside or inside a transaction of that library: the paths an app takes
 * when it writes queries with `em.getKnex()` / `em.getKysely()`.
 */
export async function columnThroughQueryBuilder(em: object, table: string, column: string, inTransaction: boolean): Promise<string[]> {
  type Rows = Record<string, string>[];
  if (ormAdapter().major === 6) {
    type Builder = { select(c: string): { from(t: string): { orderBy(c: string): Promise<Rows> } }; transaction<T>(work: (trx: Builder) => Promise<T>): Promise<T> };
    const knex = (em as { getKnex(): Builder }).getKnex();
    const read = (k: Builder) => k.select(column).from(table).orderBy('id');
    return (await (inTransaction ? knex.transaction(read) : read(knex))).map(row => row[column]!);
  }
  type Builder = {
    selectFrom(t: string): { select(c: string): { orderBy(c: string): { execute(): Promise<Rows> } } };
    transaction(): { execute<T>(work: (trx: Builder) => Promise<T>): Promise<T> };
  };
  const kysely = (em as { getKysely(): Builder }).getKysely();
  const read = (k: Builder) => k.selectFrom(table).select(column).orderBy('id').execute();
  return (await (inTransaction ? kysely.transaction().execute(read) : read(kysely))).map(row => row[column]!);
}

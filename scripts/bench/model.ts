/**
 * Entities, migrations and set-up shared by the benchmark scenarios. Entities are made by factories
 * (`defineEntity`, since tsx emits no decorator metadata), so each ORM of a scenario discovers its own
 * copies and no two ORMs re-point each other's entity prototypes.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM, defineEntity, p, type AnyEntity, type EntitySchema, type Options } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { SqliteTenancy, pragmaStatements, type SqliteTenancyOptions } from '@mikro-tenant/sqlite';
import { loadOrmAdapter } from '@mikro-tenant/sqlite/internal';

/** Rows per tenant in the read scenarios (`GET /notes` returns them all). */
export const NOTES_PER_TENANT = 20;

/** A note of a tenant: what `GET /notes` returns. */
export function makeNote(name = 'Note') {
  return defineEntity({
    name,
    tableName: 'note',
    properties: {
      id: p.integer().primary().autoincrement(),
      title: p.string(),
      body: p.text(),
      done: p.boolean(),
      createdAt: p.datetime(),
    },
  });
}

/** The same note in one shared table, with a `tenantId` column and a default filter on it. */
export function makeFilteredNote() {
  return defineEntity({
    name: 'FilteredNote',
    tableName: 'note',
    properties: {
      id: p.integer().primary().autoincrement(),
      tenantId: p.string().index(),
      title: p.string(),
      body: p.text(),
      done: p.boolean(),
      createdAt: p.datetime(),
    },
    filters: { tenant: { name: 'tenant', cond: (args: { id: string }) => ({ tenantId: args.id }), default: true } },
  });
}

/** A programmatically generated model of `count` entities, each with a few columns and a relation to the previous one. */
export function makeWideModel(count = 20): EntitySchema<AnyEntity>[] {
  const entities: EntitySchema<AnyEntity>[] = [];
  for (let i = 0; i < count; i++) {
    const previous = entities[i - 1];
    const properties: Record<string, unknown> = {
      id: p.integer().primary().autoincrement(),
      name: p.string(),
      description: p.text().nullable(),
      amount: p.integer(),
      active: p.boolean(),
      createdAt: p.datetime(),
    };
    if (previous) {
      properties.parent = () => p.manyToOne(previous).nullable();
    }
    entities.push(defineEntity({ name: `Wide${String(i).padStart(2, '0')}`, properties } as never) as unknown as EntitySchema<AnyEntity>);
  }
  return entities;
}

/** SQL of migration `i` (0-based): the first creates the note table, each later one adds a small table with an index. */
export function migrationSql(i: number): string[] {
  return i === 0
    ? ['create table `note` (`id` integer not null primary key autoincrement, `title` text not null, `body` text not null, '
      + '`done` integer not null, `created_at` datetime not null);']
    : [`create table \`extra_${i}\` (\`id\` integer not null primary key autoincrement, \`label\` text not null, \`n\` integer not null);`,
      `create index \`extra_${i}_label_index\` on \`extra_${i}\` (\`label\`);`];
}

/**
 * SQL of migration `i` of a history that ends in the same single table as one migration: the first creates
 * the note table, each later one adds a nullable column to it (so 20 of them leave a file the size of 1).
 */
export function columnMigrationSql(i: number): string[] {
  return i === 0 ? migrationSql(0) : [`alter table \`note\` add column \`extra_${i}\` integer null;`];
}

/** Name of migration `i` (0-based). */
export function migrationName(i: number): string {
  return `Migration${String(i + 1).padStart(4, '0')}`;
}

/** `count` migrations with the SQL of {@link migrationSql} (or another history's), as a `migrationsList`. */
export function makeMigrations(count: number, sqlOf: (i: number) => string[] = migrationSql): { name: string; class: new (...args: any[]) => Migration }[] {
  return Array.from({ length: count }, (_, i) => {
    const sql = sqlOf(i);
    return {
      name: migrationName(i),
      class: class extends Migration {
        override async up(): Promise<void> {
          for (const statement of sql) {
            this.addSql(statement);
          }
        }
      },
    };
  });
}

/** Quiet, fast-starting MikroORM options every ORM of the benchmarks uses. */
export const QUIET: Partial<Options> = { debug: false, allowGlobalContext: false, discovery: { warnWhenNoEntities: false } };

/** A tenancy over `dir` (shared database `dir/shared.sqlite3`, tenants in `dir/tenants`). */
export async function openTenancy(dir: string, tenancy: Partial<SqliteTenancyOptions> & Pick<SqliteTenancyOptions, 'entities'>): Promise<SqliteTenancy> {
  return SqliteTenancy.init({
    ...QUIET,
    dbName: join(dir, 'shared.sqlite3'),
    entities: [],
    tenancy: { dir: join(dir, 'tenants'), warn: () => undefined, ...tenancy },
  } as never);
}

/** A plain MikroORM on one SQLite file, as a MikroORM user writes it (the installed major's SQLite driver). */
export async function openPlainOrm(dbName: string, entities: unknown[], extra: Partial<Options> = {}): Promise<MikroORM> {
  const { defaultDriver } = await loadOrmAdapter();
  return MikroORM.init({ ...QUIET, dbName, entities, driver: defaultDriver, ...extra } as Options);
}

/** Creates a plain MikroORM's tables (`createSchema()` on MikroORM 6, `create()` on 7). */
export async function createPlainSchema(orm: MikroORM): Promise<void> {
  await (await loadOrmAdapter()).sharedSchema(orm).create();
}

/** SQLite's pragmas of tenant connections (WAL, synchronous NORMAL, busy_timeout...) as one script, as the library runs them. */
export function tenantPragmaScript(): string {
  return pragmaStatements().map(statement => `${statement};`).join('\n');
}

/**
 * MikroORM options giving each connection of a plain ORM the same pragmas as tenant connections, so a
 * comparison with one database measures the layout, not SQLite's settings.
 */
export async function withTenantPragmas(): Promise<Partial<Options>> {
  // The installed major's connection hook (knex's pool.afterCreate on 6, onCreateConnection on 7).
  return (await loadOrmAdapter()).withConnectionSetup({} as Options, pragmaStatements());
}

/** Rows of one tenant's notes (same content for every tenant, so every side returns equal JSON). */
export function noteRows(count = NOTES_PER_TENANT): { title: string; body: string; done: boolean; createdAt: Date }[] {
  return Array.from({ length: count }, (_, i) => ({
    title: `Note ${i + 1}`,
    body: `Some text of note ${i + 1}, long enough to look like a real note body in a list response.`,
    done: i % 3 === 0,
    createdAt: new Date(Date.UTC(2026, 0, 1, 12, i)),
  }));
}

/**
 * Creates `count` tenants named `t0`, `t1`, ... fast: the first through the tenancy (and seeded with
 * notes), the rest as file copies of it (the registry is left alone: opening needs only the file).
 */
export async function seedTenantFiles(tenancy: SqliteTenancy, count: number, seed: (em: any) => Promise<void>): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `t${i}`);
  await tenancy.run(ids[0]!, async em => { await seed(em); }, { sharedContext: false });
  // A clean file to copy: checkpoint the first tenant's WAL into its main file.
  await tenancy.run(ids[0]!, em => em.getConnection().execute('pragma wal_checkpoint(TRUNCATE)'), { sharedContext: false });
  const source = tenancy.files.path(ids[0]!);
  for (const id of ids.slice(1)) {
    copyFileSync(source, tenancy.files.path(id));
  }
  return ids;
}

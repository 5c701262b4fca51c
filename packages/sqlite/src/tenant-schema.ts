import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Configuration, EntityManager, MigrationsOptions } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import type { ListedMigrationRunner, OrmAdapter } from './orm-adapter.js';
import type { RawHandle } from './tenant-handle.js';

/** A tenant's EntityManager, as the schema sources take it. */
type TenantEntityManager = EntityManager & { readonly tenantId?: string };

/** Migrations of the tenant databases: a folder (`path`) or a bundled list (`migrationsList`), as in MikroORM. */
export type TenantMigrationsOptions = Pick<MigrationsOptions,
  'path' | 'pathTs' | 'glob' | 'migrationsList' | 'tableName' | 'transactional' | 'allOrNothing' | 'disableForeignKeys'>;

/** What {@link TenantSchemaSource.apply} did. */
export interface SchemaApplyResult {
  /** Names of the migrations applied now (for entities: `['schema']` when the tables were created). */
  executed: string[];
  /** The schema version reached. */
  version: string | null;
}

/** How tenant databases get their schema, and a key that changes whenever that schema changes. */
export interface TenantSchemaSource {
  /** `migrations` (the migrations are applied) or `entities` (the schema is generated from the tenant entities). */
  readonly kind: 'migrations' | 'entities';
  /** Changes whenever the resulting schema changes; names the template file. */
  readonly key: string;
  /** The schema version an up-to-date database has (last migration name, or `schema:<key>`). */
  readonly version: string | null;
  /** Brings an empty or older tenant database up to date. */
  apply(em: TenantEntityManager): Promise<SchemaApplyResult>;
  /** Names of what {@link apply} would still do to this database, writing nothing (for entities: `['schema']` when the tables lag behind them). */
  pending(em: TenantEntityManager): Promise<string[]>;
  /**
   * Does what {@link apply} does on a bare handle of the tenant's file, when that needs nothing of MikroORM;
   * resolves undefined, having done nothing, when it cannot.
   * @param config the tenants' configuration
   */
  applyOnHandle?(db: RawHandle, config: Configuration): Promise<SchemaApplyResult | undefined>;
}

/** The MikroORM migrations options used for tenant databases (no snapshots, quiet, one transaction). */
export function tenantMigrationsConfig(options: TenantMigrationsOptions): MigrationsOptions {
  return {
    tableName: 'mikro_orm_migrations',
    transactional: true,
    allOrNothing: true,
    ...options,
    snapshot: false,
    silent: true,
  };
}

/**
 * A schema source applying migrations; its key hashes the migrations' names and content (each class's
 * source text, or each file's), so a migration edited in place makes a new template too.
 */
export function migrationsSource(orm: OrmAdapter, options: TenantMigrationsOptions): TenantSchemaSource {
  const names = migrationNames(options);
  // Built on first use from the tenant configuration's migrations options (the same for every tenant).
  let runner: ListedMigrationRunner | null | undefined;
  const runnerFor = (config: Configuration) => {
    if (runner === undefined) {
      runner = orm.listedMigrationRunner(config.get('migrations'));
    }
    return runner;
  };
  return {
    kind: 'migrations',
    key: hash(['migrations', ...migrationContents(options)]),
    version: names.at(-1) ?? null,
    async apply(em) {
      try {
        const listed = runnerFor(em.config);
        const executed = await listed?.executed(em);
        if (listed && executed) {
          const pending = listed.pending(executed);
          const after = pending.length ? await listed.apply(em, executed, pending) : { applied: [], executed };
          return { executed: after.applied, version: after.executed.at(-1) ?? null };
        }
        // A database never migrated (the migrations table is created here), or options the list runner does not cover.
        const migrator = orm.migrator(em);
        const done = await migrator.up();
        const all = await migrator.executed();
        return { executed: done, version: all.at(-1) ?? null };
      } catch (error) {
        throw TenantError.migrationFailed(em.tenantId ?? '?', error);
      }
    },
    async applyOnHandle(db, config) {
      const listed = runnerFor(config);
      const after = await listed?.applyOnHandle(db, config);
      return after && { executed: after.applied, version: after.executed.at(-1) ?? null };
    },
    async pending(em) {
      const listed = runnerFor(em.config);
      const executed = await listed?.executed(em);
      if (listed && executed) {
        return listed.pending(executed).map(m => m.name);
      }
      return orm.migrator(em).pending();
    },
  };
}

/** A schema source generating the tenant tables from the entity metadata; its key is the DDL. */
export async function entitiesSource(orm: OrmAdapter, em: TenantEntityManager): Promise<TenantSchemaSource> {
  const ddl = await orm.schemaTools(em).createSql();
  const key = hash(['entities', ddl]);
  return {
    kind: 'entities',
    key,
    version: `schema:${key}`,
    async apply(target) {
      const tools = orm.schemaTools(target);
      const missing = (await tools.updateSql()).trim();
      if (missing) {
        await tools.update();
      }
      return { executed: missing ? ['schema'] : [], version: `schema:${key}` };
    },
    async pending(target) {
      const missing = await orm.schemaTools(target).updateSql();
      return missing.trim() ? ['schema'] : [];
    },
  };
}

function migrationNames(options: TenantMigrationsOptions): string[] {
  if (options.migrationsList) {
    return options.migrationsList.map(m => ('name' in m && typeof m.name === 'string' ? m.name : (m as { name: string }).name));
  }
  if (!options.path) {
    throw TenantError.invalidOption('tenancy.migrations', 'give either migrationsList or path');
  }
  try {
    return readdirSync(options.path)
      .filter(name => /\.(m?js|cjs|ts|mts)$/.test(name) && !/\.d\.[mc]?ts$/.test(name) && !name.startsWith('.'))
      .map(name => name.replace(/\.[^.]+$/, ''))
      .sort();
  } catch (error) {
    throw TenantError.invalidOption('tenancy.migrations.path', `cannot read "${options.path}": ${(error as Error).message}`);
  }
}

/** Each migration's name and content, in order: what the template key hashes. */
function migrationContents(options: TenantMigrationsOptions): string[] {
  if (options.migrationsList) {
    return options.migrationsList.map(m => {
      // An entry is a `{ name, class }` object or the class itself.
      const source = typeof m === 'function' ? m : (m as { class?: unknown }).class;
      return `${m.name}\n${typeof source === 'function' ? Function.prototype.toString.call(source) : ''}`;
    });
  }
  // migrationNames() has checked that the folder can be read.
  const dir = options.path!;
  return readdirSync(dir)
    .filter(name => /\.(m?js|cjs|ts|mts)$/.test(name) && !/\.d\.[mc]?ts$/.test(name) && !name.startsWith('.'))
    .sort()
    .map(name => `${name}\n${readFileSync(join(dir, name), 'utf8')}`);
}

function hash(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

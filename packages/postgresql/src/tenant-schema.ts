import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { MigrationsOptions } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import type { EntityManager } from '@mikro-orm/core';
import { quoteIdentifier } from './identifiers.js';
import { migrationsTableSql } from './migrations-table.js';
import type { PgOrmAdapter } from './orm-adapter.js';
import type { TenantMigrationsOptions } from './options.js';

/** What {@link TenantSchemaSource.apply} did. */
export interface SchemaApplyResult {
  /** Names of the migrations applied now (for entities: `['schema']` when tables were created). */
  executed: string[];
  /** The schema version reached. */
  version: string | null;
}

/** The SQL that builds a new tenant's tables, made once per process and replayed for every new tenant. */
export interface ProvisionTemplate {
  /** The schema version a tenant built from it has. */
  readonly version: string | null;
  /** Statements building the tables of `schema` (which exists and is first on the `search_path`), migrations recorded as run. */
  build(schema: string): string;
}

/** How tenant schemas get their tables. */
export interface TenantSchemaSource {
  /** `migrations` (the migrations are applied) or `entities` (the tables are generated from the tenant entities). */
  readonly kind: 'migrations' | 'entities';
  /** The SQL of a new tenant (built on first use, then kept). */
  template(): Promise<ProvisionTemplate>;
  /** Brings an existing tenant's schema up to date (one transaction). */
  apply(em: EntityManager): Promise<SchemaApplyResult>;
  /** What {@link apply} would still do, writing nothing. */
  pending(em: EntityManager): Promise<string[]>;
}

/** Stands for the tenant's schema in a template; never a name users or MikroORM write. */
const PLACEHOLDER = 'mikro_tenant_schema_placeholder';

/** The MikroORM migrations options of tenant schemas (no snapshots, quiet, all migrations of a tenant in one transaction). */
export function tenantMigrationsConfig(options: TenantMigrationsOptions): MigrationsOptions {
  return { tableName: 'mikro_orm_migrations', ...options, transactional: true, allOrNothing: true, snapshot: false, silent: true };
}

/**
 * Tenant schemas from migrations. A new tenant's SQL is recorded once per process: every migration is
 * applied to a scratch schema inside a transaction that is rolled back, and the statements they ran are
 * kept. A new tenant replays them in its provisioning transaction and gets the migrations recorded as
 * executed, in one round trip whatever the number of migrations; existing tenants are migrated by
 * MikroORM's Migrator, bound to their schema.
 * @param recorder a tenant EntityManager bound to `schema`, reporting each statement to `record`
 */
export function migrationsSource(orm: PgOrmAdapter, options: TenantMigrationsOptions,
  recorder: (schema: string, record: (sql: string) => void) => EntityManager): TenantSchemaSource {
  const table = options.tableName ?? 'mikro_orm_migrations';
  let template: Promise<ProvisionTemplate> | undefined;
  return {
    kind: 'migrations',
    template() {
      template ??= (async () => {
        const scratch = `mikro_tenant_build_${randomBytes(6).toString('hex')}`;
        const statements: string[] = [];
        const recording = { active: false };
        const em = recorder(scratch, sql => {
          if (recording.active) {
            statements.push(sql);
          }
        });
        const { executed } = await orm.recordMigrations(em, scratch, table, recording);
        const body = [
          ...statements.map(sql => sql.trim().replace(/;+$/, '').replaceAll(quoteIdentifier(scratch), quoteIdentifier(PLACEHOLDER))).filter(Boolean),
          migrationsTableSql(PLACEHOLDER, table),
          ...(executed.length ? [`insert into ${quoteIdentifier(PLACEHOLDER)}.${quoteIdentifier(table)} ("name") values ${executed.map(literal).join(', ')}`] : []),
        ].join(';\n');
        return { version: executed.at(-1) ?? null, build: schema => body.replaceAll(quoteIdentifier(PLACEHOLDER), quoteIdentifier(schema)) };
      })();
      // A failed recording is tried again by the next provisioning.
      template.catch(() => { template = undefined; });
      return template;
    },
    async apply(em) {
      try {
        const migrator = orm.migrator(em);
        const executed = await migrator.up();
        const all = await migrator.executed();
        return { executed, version: all.at(-1) ?? null };
      } catch (error) {
        throw TenantError.migrationFailed(orm.tenantIdOf(em) ?? '?', error);
      }
    },
    async pending(em) {
      return orm.migrator(em).pending();
    },
  };
}

/**
 * Tenant schemas generated from the tenant entities: a new tenant gets MikroORM's DDL for them; an existing
 * one the DDL it lacks (a schema diff of that tenant's schema: use migrations beyond prototypes).
 * @param ddlEm makes a tenant EntityManager that builds SQL for a schema, running none
 */
export async function entitiesSource(orm: PgOrmAdapter, ddlEm: (schema: string) => EntityManager): Promise<TenantSchemaSource> {
  const ddl = await orm.tenantTablesSql(ddlEm(PLACEHOLDER), PLACEHOLDER);
  const version = `schema:${createHash('sha256').update(ddl).digest('hex').slice(0, 16)}`;
  const template: ProvisionTemplate = { version, build: schema => ddl.replaceAll(quoteIdentifier(PLACEHOLDER), quoteIdentifier(schema)) };
  const schemaOf = (em: EntityManager) => orm.schemaOf(em);
  return {
    kind: 'entities',
    template: async () => template,
    async apply(em) {
      try {
        const missing = await orm.missingTablesSql(em, schemaOf(em));
        if (missing) {
          const connection = em.getConnection();
          await connection.transactional(trx => connection.execute(missing, [], 'run', trx));
        }
        return { executed: missing ? ['schema'] : [], version };
      } catch (error) {
        throw TenantError.migrationFailed(orm.tenantIdOf(em) ?? '?', error);
      }
    },
    async pending(em) {
      return (await orm.missingTablesSql(em, schemaOf(em))) ? ['schema'] : [];
    },
  };
}

/** Names of the migrations of a folder or list, in order (a folder that cannot be read fails at `init()`). */
export function migrationNames(options: TenantMigrationsOptions): string[] {
  if (options.migrationsList) {
    return options.migrationsList.map(m => (m as { name: string }).name);
  }
  try {
    return readdirSync(options.path!)
      .filter(name => /\.(m?js|cjs|ts|mts)$/.test(name) && !/\.d\.[mc]?ts$/.test(name) && !name.startsWith('.'))
      .map(name => name.replace(/\.[^.]+$/, ''))
      .sort();
  } catch (error) {
    throw TenantError.invalidOption('tenancy.migrations.path', `cannot read "${options.path}": ${(error as Error).message}`);
  }
}

function literal(value: string): string {
  return `('${value.replace(/'/g, "''")}')`;
}

import { isAbsolute, resolve } from 'node:path';
import type { EntityName, Options } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import type { PragmaValue } from './sqlite-setup.js';
import type { TenantMigrationsOptions } from './tenant-schema.js';
import { DEFAULT_NAME_PATTERN } from './tenant-files.js';

/** Tenant options of {@link SqliteTenancy.init}, given as `tenancy` next to the shared ORM's options. */
export interface SqliteTenancyOptions {
  /** Folder of the tenant database files. Created if missing. */
  dir: string;
  /** The per-tenant entities (classes or `EntitySchema`s). Every other entity lives in the shared database. */
  entities: EntityName<any>[];
  /**
   * The shared entity whose rows are tenants (e.g. `User`): its deletion can delete the tenant's database.
   * @default undefined (tenants are plain ids)
   */
  tenantEntity?: EntityName<any>;
  /** Reads the tenant id from a `tenantEntity` row. @default its primary key */
  tenantIdOf?: (entity: any) => unknown;
  /** File name of a tenant database; `{id}` is the canonical tenant id. @default 'tenant_{id}.sqlite3' */
  namePattern?: string;
  /** Most tenant connections kept open by this process (leased ones are never closed). @default 100 */
  maxOpen?: number;
  /** Provision new tenants by copying a template database instead of migrating each. @default true */
  template?: boolean;
  /** Create a tenant's database on first use; when false, unknown tenants throw `ERR_TENANT_NOT_FOUND`. @default true */
  autoCreate?: boolean;
  /** Delete the tenant's database when its `tenantEntity` row is removed (and flushed). @default false */
  deleteOnTenantDelete?: boolean;
  /**
   * ATTACH the shared database to tenant connections under this alias, so tenant entities can reference
   * shared ones (joins, populate). `false` never attaches. @default 'shared' when a tenant entity references a shared one, else false
   */
  attach?: string | false;
  /** SQLite pragmas for tenant connections, over the defaults; `null` drops a default.
   * @default { journal_mode: 'WAL', synchronous: 'NORMAL', busy_timeout: 5000, foreign_keys: true, cache_size: -2000 } */
  pragmas?: Record<string, PragmaValue | null>;
  /**
   * SQLite pragmas for the shared database's connection, over the defaults; `null` drops a default; `false`
   * leaves the shared connection as MikroORM opens it. Runs before your own `pool.afterCreate`.
   * @default { journal_mode: 'WAL', synchronous: 'NORMAL', busy_timeout: 5000, foreign_keys: true }
   */
  sharedPragmas?: Record<string, PragmaValue | null> | false;
  /**
   * Migrations of tenant databases (`path` or `migrationsList`, as MikroORM's `migrations` option).
   * @default undefined: the tenant tables are generated from the entities (fine for prototypes; use migrations in production)
   */
  migrations?: TenantMigrationsOptions;
  /** Name of the registry table in the shared database. @default 'mikro_tenant_registry' */
  registryTable?: string;
  /** How long `deleteTenant()` lets in-flight work on the tenant finish before closing it. @default 10000 */
  deleteGraceMs?: number;
  /**
   * Receives soft problems (template fell back to migrations, tenant kept on delete, registry write failed),
   * each with a code such as `MIKRO_TENANT_TEMPLATE_FAILED`. @default `process.emitWarning(message, 'MikroTenantWarning', code)`
   */
  warn?: (message: string, code: string) => void;
}

/** Options of {@link SqliteTenancy.init}: the shared ORM's MikroORM options plus `tenancy`. */
export type SqliteTenancyConfig = Options & { tenancy: SqliteTenancyOptions };

/** {@link SqliteTenancyOptions} with every default applied, validated and frozen. */
export type ResolvedTenancyOptions = Readonly<Required<Omit<SqliteTenancyOptions, 'tenantEntity' | 'tenantIdOf' | 'migrations' | 'attach'>>
  & Pick<SqliteTenancyOptions, 'tenantEntity' | 'tenantIdOf' | 'migrations'> & { attach: string | false | undefined }>;

const DEFAULTS = {
  namePattern: DEFAULT_NAME_PATTERN,
  maxOpen: 100,
  template: true,
  autoCreate: true,
  deleteOnTenantDelete: false,
  pragmas: {},
  sharedPragmas: {},
  registryTable: 'mikro_tenant_registry',
  deleteGraceMs: 10_000,
  warn: (message: string, code: string) => process.emitWarning(message, 'MikroTenantWarning', code),
};

const ALIAS = /^[A-Za-z_][A-Za-z0-9_]{0,30}$/;

/**
 * Merges defaults, validates eagerly (naming the option at fault) and freezes.
 * @throws TenantError `ERR_INVALID_OPTION`
 */
export function resolveTenancyOptions(options: SqliteTenancyOptions | undefined, baseDir = process.cwd()): ResolvedTenancyOptions {
  if (!options || typeof options !== 'object') {
    throw TenantError.invalidOption('tenancy', 'give the tenant options as { tenancy: { dir, entities, ... } }');
  }
  if (typeof options.dir !== 'string' || options.dir.length === 0) {
    throw TenantError.invalidOption('tenancy.dir', 'expected the folder of the tenant databases');
  }
  if (!Array.isArray(options.entities) || options.entities.length === 0) {
    throw TenantError.invalidOption('tenancy.entities', 'list the per-tenant entities');
  }
  const merged = { ...DEFAULTS, ...stripUndefined(options) };
  if (!Number.isInteger(merged.maxOpen) || merged.maxOpen < 1) {
    throw TenantError.invalidOption('tenancy.maxOpen', `expected a positive integer, got ${String(merged.maxOpen)}`);
  }
  if (!Number.isFinite(merged.deleteGraceMs) || merged.deleteGraceMs < 0) {
    throw TenantError.invalidOption('tenancy.deleteGraceMs', 'expected a non-negative number of milliseconds');
  }
  for (const flag of ['template', 'autoCreate', 'deleteOnTenantDelete'] as const) {
    if (typeof merged[flag] !== 'boolean') {
      throw TenantError.invalidOption(`tenancy.${flag}`, 'expected true or false');
    }
  }
  if (merged.attach !== undefined && merged.attach !== false && (typeof merged.attach !== 'string' || !ALIAS.test(merged.attach) || /^(main|temp)$/i.test(merged.attach))) {
    throw TenantError.invalidOption('tenancy.attach', 'expected false or an alias like "shared" (a plain identifier other than main/temp)');
  }
  for (const name of ['pragmas', 'sharedPragmas'] as const) {
    const value: unknown = merged[name];
    if ((value === null || typeof value !== 'object' || Array.isArray(value)) && !(name === 'sharedPragmas' && value === false)) {
      throw TenantError.invalidOption(`tenancy.${name}`, `expected an object of pragma names and values${name === 'sharedPragmas' ? ', or false' : ''}`);
    }
  }
  if (typeof merged.warn !== 'function') {
    throw TenantError.invalidOption('tenancy.warn', 'expected a function (message, code) => void');
  }
  if (merged.deleteOnTenantDelete && !merged.tenantEntity) {
    throw TenantError.invalidOption('tenancy.deleteOnTenantDelete', 'needs tenancy.tenantEntity (the entity whose rows are tenants)');
  }
  return Object.freeze({
    ...merged,
    dir: isAbsolute(options.dir) ? options.dir : resolve(baseDir, options.dir),
    attach: merged.attach,
    pragmas: Object.freeze({ ...merged.pragmas }),
    sharedPragmas: merged.sharedPragmas === false ? false : Object.freeze({ ...merged.sharedPragmas }),
  }) as ResolvedTenancyOptions;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

import { isAbsolute, resolve } from 'node:path';
import type { EntityName, Options } from '@mikro-orm/core';
import { OPERATING_OPTION_CHECKS, OPERATING_OPTION_DEFAULTS, SqlTenantRegistry, TenantError, type TenancyOperatingOptions } from '@mikro-tenant/core';
import { closestName } from '@mikro-tenant/core';
import { sharedPragmaStatements } from './shared-database.js';
import { pragmaStatements, type PragmaValue } from './sqlite-setup.js';
import type { TenantMigrationsOptions } from './tenant-schema.js';
import { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE, DEFAULT_NAME_PATTERN, splitNamePattern } from './tenant-files.js';

/**
 * Tenant options of {@link SqliteTenancy.init}, given as `tenancy` next to the shared ORM's options; with
 * core's operating options (`subscribers`, `quota`, `stats`, `telemetry`). A `quota` is enforced by SQLite
 * itself: `PRAGMA max_page_count` on each tenant connection, so a write past it fails with `ERR_TENANT_QUOTA_EXCEEDED`.
 */
export interface SqliteTenancyOptions extends TenancyOperatingOptions {
  /** Folder of the tenant database files. Created if missing. */
  dir: string;
  /** The per-tenant entities (classes or `EntitySchema`s). Every other entity lives in the shared database. */
  entities: EntityName<any>[];
  /**
   * The shared entity whose rows are tenants (e.g. `User`): its deletion can delete the tenant's database,
   * and its rows stand for their tenant wherever a tenant id is taken (`run(user)`). Checked against the
   * discovered entities at `init()` (a per-tenant entity or an undiscovered one is refused).
   * @default undefined (tenants are plain ids; an entity given as a tenant stands for its primary key)
   */
  tenantEntity?: EntityName<any>;
  /**
   * Reads the tenant id from a `tenantEntity` row: the one rule for `run`, `fork`, `createTenant`,
   * `deleteTenant`, `tenantExists`, `pendingMigrations`, `migrateTenant`, `tenancy.tenantId()`, the Koa
   * middleware and the deletion subscriber. Needs `tenantEntity`; one row, one tenant. @default its primary key
   */
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
  /**
   * Mode of the folders the library creates (the tenant folder and its parents, `.mikro-tenant`, backup
   * folders), before the process umask; must keep the owner's rwx. An existing folder is never changed.
   * @default 0o700 (owner only)
   */
  dirMode?: number;
  /**
   * Mode of the database files the library creates (tenants, templates, temporary and backup files), before
   * the process umask; must keep the owner's rw. SQLite gives a database's -wal/-shm/-journal files its mode.
   * @default 0o600 (owner only)
   */
  fileMode?: number;
}

/** Options of {@link SqliteTenancy.init}: the shared ORM's MikroORM options plus `tenancy`. */
export type SqliteTenancyConfig = Options & { tenancy: SqliteTenancyOptions };

/** {@link SqliteTenancyOptions} with every default applied, validated and frozen; every option is a key (unset ones `undefined`). */
export type ResolvedTenancyOptions = Readonly<Required<Omit<SqliteTenancyOptions, OptionalKey | 'attach'>>
  & Pick<SqliteTenancyOptions, OptionalKey> & { attach: string | false | undefined }>;

type OptionalKey = 'tenantEntity' | 'tenantIdOf' | 'migrations';

const DEFAULTS = {
  namePattern: DEFAULT_NAME_PATTERN,
  maxOpen: 100,
  template: true,
  autoCreate: true,
  deleteOnTenantDelete: false,
  attach: undefined,
  pragmas: {},
  sharedPragmas: {},
  registryTable: 'mikro_tenant_registry',
  deleteGraceMs: 10_000,
  warn: (message: string, code: string) => process.emitWarning(message, 'MikroTenantWarning', code),
  dirMode: DEFAULT_DIR_MODE,
  fileMode: DEFAULT_FILE_MODE,
  tenantEntity: undefined,
  tenantIdOf: undefined,
  migrations: undefined,
  ...OPERATING_OPTION_DEFAULTS,
};

/** Every option's name, as the unknown-key check knows them. */
const OPTION_NAMES = Object.freeze(['dir', 'entities', ...Object.keys(DEFAULTS)]);

const ALIAS = /^[A-Za-z_][A-Za-z0-9_]{0,30}$/;

type Check = (value: any, options: Record<string, unknown>) => string | undefined;

/** One check per option: `undefined` when the value is fine, else what was expected. The order is the order of the errors. */
const CHECKS: Record<string, Check> = {
  dir: v => (typeof v === 'string' && v.length > 0 && !v.includes('\0') ? undefined : 'expected the folder of the tenant databases'),
  entities: v => (Array.isArray(v) && v.length > 0 && v.every(isEntityName) ? undefined : 'list the per-tenant entities (classes or entity schemas)'),
  tenantEntity: v => (v === undefined || isEntityName(v) ? undefined : 'expected the shared entity whose rows are tenants (a class or entity schema)'),
  tenantIdOf: (v, o) => (v === undefined ? undefined : typeof v !== 'function' ? 'expected a function (entity) => tenant id'
    : o.tenantEntity === undefined ? 'needs tenancy.tenantEntity (the entity it reads the id from)' : undefined),
  namePattern: v => void splitNamePattern(v),
  maxOpen: v => (Number.isInteger(v) && v >= 1 ? undefined : `expected a positive integer, got ${String(v)}`),
  template: v => flag(v),
  autoCreate: v => flag(v),
  deleteOnTenantDelete: (v, o) => flag(v) ?? (v && o.tenantEntity === undefined ? 'needs tenancy.tenantEntity (the entity whose rows are tenants)' : undefined),
  attach: v => (v === undefined || v === false || (typeof v === 'string' && ALIAS.test(v) && !/^(main|temp)$/i.test(v))
    ? undefined : 'expected false or an alias like "shared" (a plain identifier other than main/temp)'),
  pragmas: v => (isPlainObject(v) ? void pragmaStatements(v) : 'expected an object of pragma names and values'),
  sharedPragmas: v => (v === false ? undefined : isPlainObject(v) ? void sharedPragmaStatements(v) : 'expected an object of pragma names and values, or false'),
  migrations: v => (v === undefined ? undefined : checkMigrations(v)),
  registryTable: v => (SqlTenantRegistry.isValidTableName(v) ? undefined : 'expected a plain SQL identifier (letters, digits and _)'),
  deleteGraceMs: v => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'expected a non-negative number of milliseconds'),
  warn: v => (typeof v === 'function' ? undefined : 'expected a function (message, code) => void'),
  dirMode: v => (Number.isInteger(v) && (v & ~0o777) === 0 && (v & 0o700) === 0o700 ? undefined
    : 'expected a folder mode such as 0o700 (within 0o777, keeping the owner\'s rwx)'),
  fileMode: v => (Number.isInteger(v) && (v & ~0o666) === 0 && (v & 0o600) === 0o600 ? undefined
    : 'expected a file mode such as 0o600 (within 0o666, keeping the owner\'s rw)'),
  ...OPERATING_OPTION_CHECKS,
};

/**
 * Merges defaults, validates every option eagerly (naming the option at fault, and the closest valid name
 * for an unknown one) and freezes. Nothing here touches the disk, so bad options leave nothing behind.
 * @throws TenantError `ERR_INVALID_OPTION`
 */
export function resolveTenancyOptions(options: SqliteTenancyOptions | undefined, baseDir = process.cwd()): ResolvedTenancyOptions {
  if (!isPlainObject(options)) {
    throw TenantError.invalidOption('tenancy', 'give the tenant options as { tenancy: { dir, entities, ... } }');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw TenantError.invalidOption(`tenancy.${key}`, `there is no such option; did you mean "${closestName(key, OPTION_NAMES)}"?`);
    }
  }
  const merged: Record<string, unknown> = { ...DEFAULTS, ...stripUndefined(options) };
  for (const [name, check] of Object.entries(CHECKS)) {
    const problem = check(merged[name], merged);
    if (problem !== undefined) {
      throw TenantError.invalidOption(`tenancy.${name}`, problem);
    }
  }
  const resolved = merged as ResolvedTenancyOptions & Record<string, unknown>;
  return Object.freeze({
    ...resolved,
    dir: isAbsolute(resolved.dir) ? resolved.dir : resolve(baseDir, resolved.dir),
    entities: Object.freeze([...resolved.entities]),
    pragmas: Object.freeze({ ...resolved.pragmas }),
    sharedPragmas: resolved.sharedPragmas === false ? false : Object.freeze({ ...resolved.sharedPragmas }),
  }) as ResolvedTenancyOptions;
}

function flag(value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : 'expected true or false';
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A class, an `EntitySchema` (what `defineEntity` returns) or an entity's name. */
function isEntityName(value: unknown): boolean {
  return typeof value === 'function' || (typeof value === 'string' && value.length > 0)
    || (isPlainObject(value) && typeof value.name === 'string');
}

const MIGRATION_KEYS = ['path', 'pathTs', 'glob', 'migrationsList', 'tableName', 'transactional', 'allOrNothing', 'disableForeignKeys'];

function checkMigrations(value: unknown): string | undefined {
  if (!isPlainObject(value)) {
    return 'expected { migrationsList: [{ name, class }] } or { path }';
  }
  const unknown = Object.keys(value).find(key => !MIGRATION_KEYS.includes(key));
  if (unknown) {
    return `"${unknown}" is not a tenant migrations option; did you mean "${closestName(unknown, MIGRATION_KEYS)}"?`;
  }
  const { migrationsList, path } = value;
  if (migrationsList !== undefined) {
    const ok = Array.isArray(migrationsList) && migrationsList.every(m => isPlainObject(m) && typeof m.name === 'string' && typeof m.class === 'function');
    return ok ? undefined : 'expected migrationsList as [{ name, class }]';
  }
  return typeof path === 'string' && path.length > 0 ? undefined : 'give either migrationsList or path';
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

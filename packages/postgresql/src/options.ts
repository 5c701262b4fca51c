import type { EntityName, MigrationsOptions, Options } from '@mikro-orm/core';
import { OPERATING_OPTION_CHECKS, OPERATING_OPTION_DEFAULTS, TenantError, type TenancyOperatingOptions } from '@mikro-tenant/core';
import { closestName } from '@mikro-tenant/core';
import { DEFAULT_SCHEMA_PATTERN, splitSchemaPattern } from './tenant-schemas.js';

/** Migrations of the tenant schemas: a folder (`path`) or a bundled list (`migrationsList`), as in MikroORM. */
export type TenantMigrationsOptions = Pick<MigrationsOptions, 'path' | 'pathTs' | 'glob' | 'migrationsList' | 'tableName' | 'disableForeignKeys'>;

/**
 * Tenant options of {@link PostgresSchemaTenancy.init}, given as `tenancy` next to the shared ORM's options;
 * with core's operating options (`subscribers`, `quota`, `stats`, `telemetry`). A `quota` is checked by
 * measuring the tenant's schema (its tables, indexes and TOAST) on open and then at most every
 * `quota.checkIntervalMs` while the tenant is used; once over, its inserts and updates fail with `ERR_TENANT_QUOTA_EXCEEDED`.
 */
export interface PostgresTenancyOptions extends TenancyOperatingOptions {
  /** The per-tenant entities (classes or `EntitySchema`s): their tables live in every tenant's schema. Every other entity is shared. */
  entities: EntityName<any>[];
  /**
   * The shared entity whose rows are tenants (e.g. `User`): its deletion can delete the tenant's schema,
   * and its rows stand for their tenant wherever a tenant id is taken (`run(user)`).
   * @default undefined (tenants are plain ids; an entity given as a tenant stands for its primary key)
   */
  tenantEntity?: EntityName<any>;
  /** Reads the tenant id from a `tenantEntity` row: the one rule wherever such a row stands for a tenant. @default its primary key */
  tenantIdOf?: (entity: any) => unknown;
  /**
   * Name of a tenant's schema; `{id}` is the canonical tenant id, the rest lower-case letters, digits and
   * '_'. Ids that would make a name longer than PostgreSQL's 63 bytes are refused. @default 'tenant_{id}'
   */
  schemaPattern?: string;
  /** Most tenant EntityManagers kept ready by this process (they hold no connection; leased ones are never dropped). @default 1000 */
  maxOpen?: number;
  /** Create a tenant's schema on first use; when false, unknown tenants throw `ERR_TENANT_NOT_FOUND`. @default true */
  autoCreate?: boolean;
  /** Drop the tenant's schema when its `tenantEntity` row is removed (and the removal committed). @default false */
  deleteOnTenantDelete?: boolean;
  /**
   * Migrations of tenant schemas (`path` or `migrationsList`, as MikroORM's `migrations` option), written
   * with bare table names: they run with the tenant's schema first on the `search_path`.
   * @default undefined: the tenant tables are generated from the entities (fine for prototypes; use migrations in production)
   */
  migrations?: TenantMigrationsOptions;
  /** Name of the registry table, in the shared schema. @default 'mikro_tenant_registry' */
  registryTable?: string;
  /** How long `deleteTenant()` lets in-flight work on the tenant finish before dropping it. @default 10000 */
  deleteGraceMs?: number;
  /** Receives soft problems with a code (`MIKRO_TENANT_DELETION`...). @default `process.emitWarning(message, 'MikroTenantWarning', code)` */
  warn?: (message: string, code: string) => void;
}

/** Options of {@link PostgresSchemaTenancy.init}: the shared ORM's MikroORM options plus `tenancy`. */
export type PostgresTenancyConfig = Options & { tenancy: PostgresTenancyOptions };

type OptionalKey = 'tenantEntity' | 'tenantIdOf' | 'migrations';

/** {@link PostgresTenancyOptions} with every default applied, validated and frozen. */
export type ResolvedPostgresTenancyOptions = Readonly<Required<Omit<PostgresTenancyOptions, OptionalKey>> & Pick<PostgresTenancyOptions, OptionalKey>>;

const DEFAULTS = {
  schemaPattern: DEFAULT_SCHEMA_PATTERN,
  maxOpen: 1000,
  autoCreate: true,
  deleteOnTenantDelete: false,
  registryTable: 'mikro_tenant_registry',
  deleteGraceMs: 10_000,
  warn: (message: string, code: string) => process.emitWarning(message, 'MikroTenantWarning', code),
  tenantEntity: undefined,
  tenantIdOf: undefined,
  migrations: undefined,
  ...OPERATING_OPTION_DEFAULTS,
};

const OPTION_NAMES = Object.freeze(['entities', ...Object.keys(DEFAULTS)]);
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const MIGRATION_KEYS = ['path', 'pathTs', 'glob', 'migrationsList', 'tableName', 'disableForeignKeys'];

type Check = (value: any, options: Record<string, unknown>) => string | undefined;

/** One check per option: `undefined` when the value is fine, else what was expected. The order is the order of the errors. */
const CHECKS: Record<string, Check> = {
  entities: v => (Array.isArray(v) && v.length > 0 && v.every(isEntityName) ? undefined : 'list the per-tenant entities (classes or entity schemas)'),
  tenantEntity: v => (v === undefined || isEntityName(v) ? undefined : 'expected the shared entity whose rows are tenants (a class or entity schema)'),
  tenantIdOf: (v, o) => (v === undefined ? undefined : typeof v !== 'function' ? 'expected a function (entity) => tenant id'
    : o.tenantEntity === undefined ? 'needs tenancy.tenantEntity (the entity it reads the id from)' : undefined),
  schemaPattern: v => void splitSchemaPattern(v),
  maxOpen: v => (Number.isInteger(v) && v >= 1 ? undefined : `expected a positive integer, got ${String(v)}`),
  autoCreate: v => flag(v),
  deleteOnTenantDelete: (v, o) => flag(v) ?? (v && o.tenantEntity === undefined ? 'needs tenancy.tenantEntity (the entity whose rows are tenants)' : undefined),
  migrations: v => (v === undefined ? undefined : checkMigrations(v)),
  registryTable: v => (typeof v === 'string' && IDENTIFIER.test(v) ? undefined : 'expected a lower-case SQL identifier (a-z, 0-9 and _)'),
  deleteGraceMs: v => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'expected a non-negative number of milliseconds'),
  warn: v => (typeof v === 'function' ? undefined : 'expected a function (message, code) => void'),
  ...OPERATING_OPTION_CHECKS,
};

/**
 * Merges defaults, validates every option eagerly (naming the option at fault, and the closest valid name
 * for an unknown one) and freezes. Touches nothing.
 * @throws TenantError `ERR_INVALID_OPTION`
 */
export function resolvePostgresTenancyOptions(options: PostgresTenancyOptions | undefined): ResolvedPostgresTenancyOptions {
  if (!isPlainObject(options)) {
    throw TenantError.invalidOption('tenancy', 'give the tenant options as { tenancy: { entities, ... } }');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw TenantError.invalidOption(`tenancy.${key}`, `there is no such option; did you mean "${closestName(key, OPTION_NAMES)}"?`);
    }
  }
  const merged: Record<string, unknown> = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  for (const [name, check] of Object.entries(CHECKS)) {
    const problem = check(merged[name], merged);
    if (problem !== undefined) {
      throw TenantError.invalidOption(`tenancy.${name}`, problem);
    }
  }
  const resolved = merged as ResolvedPostgresTenancyOptions & Record<string, unknown>;
  return Object.freeze({ ...resolved, entities: Object.freeze([...resolved.entities]) }) as ResolvedPostgresTenancyOptions;
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

function checkMigrations(value: unknown): string | undefined {
  if (!isPlainObject(value)) {
    return 'expected { migrationsList: [{ name, class }] } or { path }';
  }
  const unknown = Object.keys(value).find(key => !MIGRATION_KEYS.includes(key));
  if (unknown) {
    return `"${unknown}" is not a tenant migrations option; did you mean "${closestName(unknown, MIGRATION_KEYS)}"?`;
  }
  const { migrationsList, path, tableName } = value;
  if (tableName !== undefined && (typeof tableName !== 'string' || !IDENTIFIER.test(tableName))) {
    return 'tableName: expected a lower-case SQL identifier without a schema (it lives in each tenant\'s schema)';
  }
  if (migrationsList !== undefined) {
    const ok = Array.isArray(migrationsList) && migrationsList.every(m => isPlainObject(m) && typeof m.name === 'string' && typeof m.class === 'function');
    return ok ? undefined : 'expected migrationsList as [{ name, class }]';
  }
  return typeof path === 'string' && path.length > 0 ? undefined : 'give either migrationsList or path';
}

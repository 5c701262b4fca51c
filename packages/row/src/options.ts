import type { EntityName, Options } from '@mikro-orm/core';
import {
  OPERATING_OPTION_CHECKS, OPERATING_OPTION_DEFAULTS, SqlTenantRegistry, TenantError, closestName, type TenancyOperatingOptions,
} from '@mikro-tenant/core';

/** Tenant options of {@link RowTenancy.init}, given as `tenancy` next to MikroORM's options. */
export interface RowTenancyOptions extends Omit<TenancyOperatingOptions, 'quota'> {
  /**
   * The tenant-owned entities (classes or `EntitySchema`s): their rows carry the tenant column, filled from
   * the active tenant, and every query on them is limited to it. Every other entity is shared.
   */
  entities: EntityName<any>[];
  /** The tenant property of the tenant-owned entities; added (a string column of 64 characters, indexed) where an entity does not declare it. @default 'tenantId' */
  property?: string;
  /**
   * The ORM-level guard: reads, updates and deletes limited to the active tenant, foreign tenant ids and rows
   * refused, raw SQL on tenant-owned tables refused (unless the database enforces the tenant itself).
   * `false` leaves the database's row level security alone on the line (tests prove it holds). @default true
   */
  guard?: boolean;
  /**
   * PostgreSQL only: each statement and transaction tells the database its tenant (`set_config(..., true)`,
   * never session-wide), so the policies of {@link RowTenancy.rowSecuritySql} hold the line under the ORM.
   * @default true on PostgreSQL, false elsewhere (`true` on another database is refused)
   */
  rowLevelSecurity?: boolean;
  /**
   * The shared entity whose rows are tenants (e.g. `User`): its deletion can delete the tenant's rows, and its
   * rows stand for their tenant wherever a tenant id is taken (`run(user)`).
   * @default undefined (tenants are plain ids)
   */
  tenantEntity?: EntityName<any>;
  /** Reads the tenant id from a `tenantEntity` row. @default its primary key */
  tenantIdOf?: (entity: any) => unknown;
  /** Delete the tenant's rows when its `tenantEntity` row is removed (and the removal committed). @default false */
  deleteOnTenantDelete?: boolean;
  /** Most tenant EntityManagers kept ready (they hold no connection). @default 1000 */
  maxOpen?: number;
  /** Register a tenant on first use; when false, unknown tenants throw `ERR_TENANT_NOT_FOUND`. @default true */
  autoCreate?: boolean;
  /** Name of the registry table. @default 'mikro_tenant_registry' */
  registryTable?: string;
  /** How long `deleteTenant()` lets in-flight work on the tenant finish before deleting its rows. @default 10000 */
  deleteGraceMs?: number;
  /** Receives soft problems with a code. @default `process.emitWarning(message, 'MikroTenantWarning', code)` */
  warn?: (message: string, code: string) => void;
}

/** Options of {@link RowTenancy.init}: MikroORM's options plus `tenancy`. */
export type RowTenancyConfig = Options & { tenancy: RowTenancyOptions };

type OptionalKey = 'tenantEntity' | 'tenantIdOf' | 'rowLevelSecurity';

/** {@link RowTenancyOptions} with every default applied, validated and frozen. */
export type ResolvedRowTenancyOptions = Readonly<Required<Omit<RowTenancyOptions, OptionalKey>> & Pick<RowTenancyOptions, OptionalKey>>;

const DEFAULTS = {
  property: 'tenantId',
  guard: true,
  rowLevelSecurity: undefined,
  tenantEntity: undefined,
  tenantIdOf: undefined,
  deleteOnTenantDelete: false,
  maxOpen: 1000,
  autoCreate: true,
  registryTable: 'mikro_tenant_registry',
  deleteGraceMs: 10_000,
  warn: (message: string, code: string) => process.emitWarning(message, 'MikroTenantWarning', code),
  subscribers: OPERATING_OPTION_DEFAULTS.subscribers,
  stats: OPERATING_OPTION_DEFAULTS.stats,
  telemetry: OPERATING_OPTION_DEFAULTS.telemetry,
};

const OPTION_NAMES = Object.freeze(['entities', ...Object.keys(DEFAULTS)]);

type Check = (value: any, options: Record<string, unknown>) => string | undefined;

const CHECKS: Record<string, Check> = {
  entities: v => (Array.isArray(v) && v.length > 0 && v.every(isEntityName) ? undefined : 'list the tenant-owned entities (classes or entity schemas)'),
  property: v => (typeof v === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(v) ? undefined : 'expected a property name'),
  guard: v => flag(v),
  rowLevelSecurity: v => (v === undefined ? undefined : flag(v)),
  tenantEntity: v => (v === undefined || isEntityName(v) ? undefined : 'expected the shared entity whose rows are tenants (a class or entity schema)'),
  tenantIdOf: (v, o) => (v === undefined ? undefined : typeof v !== 'function' ? 'expected a function (entity) => tenant id'
    : o.tenantEntity === undefined ? 'needs tenancy.tenantEntity (the entity it reads the id from)' : undefined),
  deleteOnTenantDelete: (v, o) => flag(v) ?? (v && o.tenantEntity === undefined ? 'needs tenancy.tenantEntity (the entity whose rows are tenants)' : undefined),
  maxOpen: v => (Number.isInteger(v) && v >= 1 ? undefined : `expected a positive integer, got ${String(v)}`),
  autoCreate: v => flag(v),
  registryTable: v => (SqlTenantRegistry.isValidTableName(v) ? undefined : 'expected a plain SQL identifier'),
  deleteGraceMs: v => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'expected a non-negative number of milliseconds'),
  warn: v => (typeof v === 'function' ? undefined : 'expected a function (message, code) => void'),
  subscribers: OPERATING_OPTION_CHECKS.subscribers,
  stats: OPERATING_OPTION_CHECKS.stats,
  telemetry: OPERATING_OPTION_CHECKS.telemetry,
};

/**
 * Merges defaults, validates every option eagerly (naming the option at fault) and freezes. Touches nothing.
 * @throws TenantError `ERR_INVALID_OPTION`
 */
export function resolveRowTenancyOptions(options: RowTenancyOptions | undefined): ResolvedRowTenancyOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
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
  const resolved = merged as ResolvedRowTenancyOptions & Record<string, unknown>;
  return Object.freeze({ ...resolved, entities: Object.freeze([...resolved.entities]) }) as ResolvedRowTenancyOptions;
}

function flag(value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : 'expected true or false';
}

function isEntityName(value: unknown): boolean {
  return typeof value === 'function' || (typeof value === 'string' && value.length > 0)
    || (typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string');
}

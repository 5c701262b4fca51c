import type { EntityManager } from '@mikro-orm/core';
import type { Tenancy } from './tenancy.js';
import type { SchemaApplyResult } from './tenancy-strategy.js';

/** One backup written by {@link TenancyAdmin.backup}. */
export interface TenantBackup {
  /** Canonical tenant id. */
  tenantId: string;
  /** The backup file (absolute). */
  file: string;
  /** Its size in bytes. */
  bytes: number;
}

/** What {@link TenancyAdmin.reconcile} found, in words every strategy shares. */
export interface AdminReconcileReport {
  /** The strategy's own report, as `tenancy.reconcile()` returns it (what `--json` prints). */
  report: object;
  /** Registered tenants whose storage is missing. */
  missing: string[];
  /** Storage named like a tenant's without a registry row. */
  unregistered: string[];
  /** What else the strategy found that a person should read (one line each), e.g. tables not created yet. */
  notes?: string[];
}

/**
 * The strategy-specific half of admin work (the `mikro-tenant` CLI): what one tenant's storage is, how
 * to find every tenant's, migrate one without the registry, back one up and restore one. A strategy's
 * tenancy hands it out with `admin()`; tools reach nothing else of the strategy.
 */
export interface TenancyAdmin {
  /** The strategy's name for messages, e.g. `sqlite`, `pg-schema`. */
  readonly strategy: string;
  /**
   * What holds one tenant's data: `file` or `schema` (words of messages and of `ERR_TENANT_*_MISSING`), or
   * `rows` (the row strategy: a tenant is its registry row and its rows in the shared tables).
   */
  readonly storage: 'file' | 'schema' | 'rows';
  /**
   * Admin commands the strategy does not have, each with why (what to do instead): the CLI refuses them
   * with `ERR_NOT_SUPPORTED` before anything else.
   */
  readonly unsupported?: Readonly<Partial<Record<'backup' | 'restore' | 'template', string>>>;
  /**
   * A note `migrate` and `migrate --check` print on stderr, e.g. that every tenant shares one schema and
   * nothing is migrated per tenant.
   */
  readonly migrateNote?: string;
  /**
   * How `migrate` works on several tenants at once: `processes` (worker processes with a tenancy each,
   * for a synchronous driver) or `connections` (concurrent migrations in this process).
   */
  readonly parallelism: 'processes' | 'connections';
  /** Where a tenant's data lives, for messages: a file path, a schema name. */
  locationOf(tenantId: string): string;
  /**
   * Every tenant an admin command should reach: the registered ones in registry order (`present` with
   * their storage, `missing` without), and storage named like a tenant's without a registry row
   * (`unregistered`: a creator that died before writing the row, a copy made by hand), in id order.
   * Scans the storage: for admin commands only.
   */
  everyTenant(): Promise<{ present: string[]; missing: string[]; unregistered: string[] }>;
  /** True when the tenant has a registry row (its storage may be gone). */
  isRegistered(tenantId: string): Promise<boolean>;
  /** `tenancy.reconcile()`, with its findings named alike for every strategy. */
  reconcile(fix: boolean): Promise<AdminReconcileReport>;
  /**
   * Applies a tenant's pending migrations in one transaction without recording its version in the
   * registry (a migrate run records them in batches: {@link recordSchemaVersions}).
   * @throws TenantError `ERR_TENANT_MIGRATION_FAILED` (rolled back), `ERR_TENANT_NOT_FOUND`
   */
  migrate(tenantId: string): Promise<SchemaApplyResult>;
  /** Records schema versions, tenants grouped by version, in few statements. */
  recordSchemaVersions(byVersion: Map<string | null, string[]>): Promise<void>;
  /** The error for registered tenants whose storage is missing (`ERR_TENANT_FILE_MISSING`, `ERR_TENANT_SCHEMA_MISSING`). */
  missingError(tenantIds: string[]): Error;
  /** Runs after a migrate run (SQLite rebuilds its template); resolves what it built, or null. */
  afterMigrate?(): Promise<string | null>;
  /** `template build|clear`, where the strategy has templates; resolves the line to print. */
  template?(action: 'build' | 'clear'): Promise<string>;
  /** Whether {@link restore} can replace an existing tenant (`--force`). */
  readonly restoreCanReplace: boolean;
  /**
   * Writes one backup per tenant into `out` (created if missing), checking first that no backup is in the
   * way unless `force`; calls `onDone` after each. The tenants must exist.
   * @throws TenantError `ERR_BACKUP_EXISTS`, `ERR_BACKUP_TOOL_MISSING`, `ERR_BACKUP_FAILED`
   */
  backup(tenantIds: string[], options: { out: string; force: boolean }, onDone: (backup: TenantBackup) => void): Promise<TenantBackup[]>;
  /**
   * Restores a tenant from a backup file and registers it; never over an existing tenant unless `force`
   * and {@link restoreCanReplace}. A failed restore leaves nothing behind.
   * @throws TenantError `ERR_INVALID_BACKUP`, `ERR_TENANT_EXISTS`, `ERR_BACKUP_TOOL_MISSING`, `ERR_RESTORE_FAILED`
   */
  restore(tenantId: string, file: string, options: { force: boolean }): Promise<void>;
}

/** A tenancy as admin tools see it: the contract, pending migrations, and its {@link TenancyAdmin}. */
export interface AdminTenancy<EM extends EntityManager = EntityManager> extends Tenancy<EM> {
  /** Names of the migrations not yet applied to a tenant. */
  pendingMigrations(tenantId: string): Promise<string[]>;
  /** The strategy-specific admin operations. */
  admin(): TenancyAdmin;
}

/**
 * What a strategy package exports as `tenancyCli` for the `mikro-tenant` CLI, which loads the package
 * named by the config file's `strategy` and never imports a strategy class itself.
 */
export interface TenancyCliEntry {
  /**
   * For reading commands: a sentence when the shared storage does not exist yet (e.g. `no shared database
   * at /srv/shared.sqlite3 yet`), so they report no tenants instead of creating it; else undefined.
   * @param strategy the config's `strategy` (a package serving several, such as `sqlite-row` and `pg-row`, tells them apart)
   */
  missingSharedStorage?(config: object, strategy: string): string | undefined;
  /**
   * Starts a tenancy from the config file's options for admin work: tenants are never created implicitly
   * (`autoCreate` off) and queries are not logged. Checks what it can before opening anything.
   * @throws TenantError `ERR_INVALID_OPTION`, `ERR_TENANT_FOLDER_UNUSABLE`
   */
  open(config: object): Promise<AdminTenancy>;
}

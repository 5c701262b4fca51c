/** Every error code mikro-tenant throws. Stable: tests and HTTP adapters match on these, not on messages. */
export type TenantErrorCode =
  | 'ERR_INVALID_TENANT_ID'
  | 'ERR_NO_TENANT_CONTEXT'
  | 'ERR_TENANT_NOT_FOUND'
  | 'ERR_TENANT_EXISTS'
  | 'ERR_TENANT_ENTITY_ON_SHARED_EM'
  | 'ERR_SHARED_WRITE_ON_TENANT_EM'
  | 'ERR_TENANT_PROVISIONING_FAILED'
  | 'ERR_TENANT_MIGRATION_FAILED'
  | 'ERR_TENANT_OPEN_FAILED'
  | 'ERR_TENANT_EVICTED'
  | 'ERR_TENANT_DELETED'
  | 'ERR_TENANCY_CLOSED'
  | 'ERR_TENANT_QUOTA_EXCEEDED'
  | 'ERR_INVALID_OPTION'
  | 'ERR_FOREIGN_TENANT_ROW'
  | 'ERR_UNSCOPED_QUERY'
  | 'ERR_TENANT_FILE_MISSING'
  | 'ERR_TENANT_SCHEMA_MISSING'
  | 'ERR_TENANT_FOLDER_UNUSABLE'
  | 'ERR_BACKUP_EXISTS'
  | 'ERR_INVALID_BACKUP'
  | 'ERR_BACKUP_TOOL_MISSING'
  | 'ERR_BACKUP_FAILED'
  | 'ERR_RESTORE_FAILED'
  | 'ERR_NOT_SUPPORTED';

/**
 * The one error class of mikro-tenant. `code` says what went wrong; `cause` keeps the underlying error.
 *
 * @example
 * try { await tenancy.fork('../etc') } catch (e) { if (e instanceof TenantError && e.code === 'ERR_INVALID_TENANT_ID') ... }
 */
export class TenantError extends Error {
  /** Machine-readable code, e.g. `ERR_INVALID_TENANT_ID`. */
  readonly code: TenantErrorCode;
  /** The tenant the error is about, when there is one and it is safe to show. */
  readonly tenantId?: string;

  constructor(code: TenantErrorCode, message: string, options: { cause?: unknown; tenantId?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TenantError';
    this.code = code;
    if (options.tenantId !== undefined) {
      this.tenantId = options.tenantId;
    }
  }

  /** A tenant id that is not allowed (wrong type, characters, length, reserved name). */
  static invalidTenantId(id: unknown, reason: string): TenantError {
    return new TenantError('ERR_INVALID_TENANT_ID', `Invalid tenant id ${describe(id)}: ${reason}.`);
  }

  /** A per-tenant entity was queried with no tenant active. */
  static noTenantContext(what = 'a per-tenant entity'): TenantError {
    return new TenantError('ERR_NO_TENANT_CONTEXT',
      `No tenant is active, so ${what} cannot be queried. Run the code inside tenancy.run(id, fn), `
      + 'use the EntityManager returned by tenancy.fork(id), or let the Koa middleware resolve the tenant.');
  }

  /** A per-tenant entity was queried through the shared EntityManager while a tenant is active. */
  static tenantEntityOnSharedEm(entityName: string): TenantError {
    return new TenantError('ERR_TENANT_ENTITY_ON_SHARED_EM',
      `${entityName} is a per-tenant entity but was queried through the shared EntityManager. `
      + 'Use tenancy.em (or the em passed to tenancy.run()) for per-tenant entities.');
  }

  /** A statement on a tenant connection would write the shared database, which tenant connections only read. */
  static sharedWriteOnTenantEm(statement: string): TenantError {
    return new TenantError('ERR_SHARED_WRITE_ON_TENANT_EM',
      `This statement would write the shared database through a tenant connection, which only reads it: ${statement}. `
      + 'Change shared entities through the EntityManager (flush, insert, nativeUpdate, nativeDelete, upsert: these are sent '
      + 'over the shared connection), or run QueryBuilder and raw SQL writes of shared tables on a shared EntityManager: '
      + 'tenancy.orm.em.fork({ disableContextResolution: true }).');
  }

  /** The tenant does not exist and automatic creation is off. */
  static tenantNotFound(id: string): TenantError {
    return new TenantError('ERR_TENANT_NOT_FOUND',
      `Tenant "${id}" does not exist. Create it with tenancy.createTenant(id) or enable autoCreate.`, { tenantId: id });
  }

  /** `createTenant()` was asked to create a tenant that already exists. */
  static tenantExists(id: string): TenantError {
    return new TenantError('ERR_TENANT_EXISTS', `Tenant "${id}" already exists; its database was left untouched.`, { tenantId: id });
  }

  /** Building a tenant database failed; nothing was left behind. */
  static provisioningFailed(id: string, cause: unknown): TenantError {
    return new TenantError('ERR_TENANT_PROVISIONING_FAILED',
      `Could not create the database of tenant "${id}": ${messageOf(cause)}. Nothing of it was left behind.`,
      { cause, tenantId: id });
  }

  /** Applying migrations to a tenant database failed and was rolled back. */
  static migrationFailed(id: string, cause: unknown): TenantError {
    return new TenantError('ERR_TENANT_MIGRATION_FAILED',
      `Migrating the database of tenant "${id}" failed and was rolled back: ${messageOf(cause)}.`, { cause, tenantId: id });
  }

  /**
   * An existing tenant database could not be opened (permissions, read-only or full disk, corruption).
   * @param hint what to check, in the strategy's words (where its storage lives)
   */
  static openFailed(id: string, cause: unknown, hint = 'Check that its storage is reachable and writable.'): TenantError {
    return new TenantError('ERR_TENANT_OPEN_FAILED', `Could not open the database of tenant "${id}": ${messageOf(cause)}. ${hint}`, { cause, tenantId: id });
  }

  /**
   * The tenant's connection was evicted (closed to keep at most `maxOpen` open) while an EntityManager
   * from a bare `fork()` still used it; leased work (`run()`, the Koa middleware) is never evicted.
   */
  static tenantEvicted(id: string): TenantError {
    return new TenantError('ERR_TENANT_EVICTED',
      `The connection of tenant "${id}" was evicted (at most maxOpen stay open) while this EntityManager still used it. `
      + 'Hold work inside tenancy.run(id, fn), whose connection is never evicted.',
      { tenantId: id });
  }

  /** The tenant was deleted while work on it was still running (after the deletion's grace period). */
  static tenantDeleted(id: string): TenantError {
    return new TenantError('ERR_TENANT_DELETED', `Tenant "${id}" was deleted while this work was still using it.`, { tenantId: id });
  }

  /** A write was refused: the tenant reached its size quota. Its data stays readable; deleting rows frees room. */
  static quotaExceeded(id: string, limitBytes: number, cause?: unknown): TenantError {
    return new TenantError('ERR_TENANT_QUOTA_EXCEEDED',
      `Tenant "${id}" reached its size quota of ${limitBytes} bytes, so this write was refused. Its data stays readable; `
      + 'delete data, or raise its quota (tenancy.quota.maxBytes).', { cause, tenantId: id });
  }

  /** The tenancy was closed with `close()`. */
  static tenancyClosed(): TenantError {
    return new TenantError('ERR_TENANCY_CLOSED', 'The tenancy was closed; create a new one with init().');
  }

  /** A write names a row or a tenant id that is not the active tenant's (shared tables told apart by a tenant column). */
  static foreignTenantRow(entityName: string, what: string): TenantError {
    return new TenantError('ERR_FOREIGN_TENANT_ROW',
      `${entityName}: ${what} does not belong to the active tenant, so it was refused. Load the row through the tenant's `
      + 'EntityManager, leave the tenant column unset (it is filled from the active tenant), or use tenancy.unscoped() for cross-tenant work.');
  }

  /** An operation that cannot be limited to the active tenant (raw SQL naming a tenant-owned table, a truncate...). */
  static unscopedQuery(what: string): TenantError {
    return new TenantError('ERR_UNSCOPED_QUERY',
      `${what} cannot be limited to the active tenant, so it was refused. Use the EntityManager's methods or its QueryBuilder, `
      + 'or wrap deliberate cross-tenant work in tenancy.unscoped(fn).');
  }

  /**
   * Registered tenants whose storage is missing (`ERR_TENANT_FILE_MISSING` for a file,
   * `ERR_TENANT_SCHEMA_MISSING` for a schema): a `reconcile` finding.
   */
  static storageMissing(tenantIds: string[], storage: 'file' | 'schema'): TenantError {
    return new TenantError(storage === 'file' ? 'ERR_TENANT_FILE_MISSING' : 'ERR_TENANT_SCHEMA_MISSING',
      `no database ${storage} for ${tenantIds.map(id => `"${id}"`).join(', ')}; see mikro-tenant reconcile`);
  }

  /** The tenant folder exists but is not a folder this user can list and write to. */
  static folderUnusable(dir: string, reason: string, cause?: unknown): TenantError {
    return new TenantError('ERR_TENANT_FOLDER_UNUSABLE', `tenant folder ${dir} ${reason}`, { cause });
  }

  /** A backup file is in the way. */
  static backupExists(path: string): TenantError {
    return new TenantError('ERR_BACKUP_EXISTS', `${path} exists; pass --force to replace it`);
  }

  /** A file given to restore is not a usable backup (`what` says what it should have been). */
  static invalidBackup(path: string, reason: string, what = 'backup', cause?: unknown): TenantError {
    return new TenantError('ERR_INVALID_BACKUP', `${path} is not a sound ${what}: ${reason}`, { cause });
  }

  /** A program backups need (`pg_dump`, `pg_restore`, `psql`) was not found where it was looked for. */
  static backupToolMissing(tool: string, reason: string): TenantError {
    return new TenantError('ERR_BACKUP_TOOL_MISSING',
      `${tool} ${reason}; install the PostgreSQL client programs (e.g. apt-get install postgresql-client) or name their folder in MIKRO_TENANT_PG_BIN`);
  }

  /** Making a tenant's backup failed; no backup file was left. */
  static backupFailed(id: string, cause: unknown): TenantError {
    return new TenantError('ERR_BACKUP_FAILED', `Backing up tenant "${id}" failed: ${messageOf(cause)}. No backup file was left.`, { cause, tenantId: id });
  }

  /** Restoring a tenant failed and was rolled back: the tenant does not exist. */
  static restoreFailed(id: string, cause: unknown): TenantError {
    return new TenantError('ERR_RESTORE_FAILED',
      `Restoring tenant "${id}" failed and was rolled back (nothing of it exists): ${messageOf(cause)}.`, { cause, tenantId: id });
  }

  /** An admin operation the tenancy's strategy does not offer. */
  static notSupported(what: string, strategy: string, hint = ''): TenantError {
    return new TenantError('ERR_NOT_SUPPORTED', `${what} is not supported by the ${strategy} strategy${hint ? `; ${hint}` : ''}`);
  }

  /** A configuration option has a wrong value. */
  static invalidOption(name: string, reason: string): TenantError {
    return new TenantError('ERR_INVALID_OPTION', `Invalid option "${name}": ${reason}.`);
  }
}

/** True when `error` is a {@link TenantError}, optionally with the given code. */
export function isTenantError(error: unknown, code?: TenantErrorCode): error is TenantError {
  return error instanceof TenantError && (code === undefined || error.code === code);
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Quotes an untrusted value for an error message without letting control characters or huge strings through. */
function describe(value: unknown): string {
  if (typeof value !== 'string') {
    return typeof value === 'number' ? String(value) : `of type ${value === null ? 'null' : typeof value}`;
  }
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown).replace(/[\u007f-\u009f\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

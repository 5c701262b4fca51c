import type { Dictionary } from '@mikro-orm/core';
import { SqliteConnection } from '@mikro-orm/sqlite';
import type { Dialect } from 'kysely';
import type Database from 'better-sqlite3';
import { TenantError } from '@mikro-tenant/core';
import type { TenantBinding, TenantConnectionControl } from '../orm-adapter.js';
import { trackSavepoint } from '@mikro-tenant/sql/mikro-orm-7';
import { guardedHandle, type TenantHandle } from '../tenant-handle.js';
import { tenantDialect } from './tenant-dialect.js';

/** Members of MikroORM 7's `SqliteConnection` this class reads (private in its typings). */
interface SqliteConnectionInternals {
  database?: Database.Database;
}

/**
 * MikroORM 7's better-sqlite3 connection, for one tenant's file: kysely's `SqliteDialect` over one
 * better-sqlite3 handle, opened only on an existing file (unless building one) and prepared (pragmas,
 * ATTACH) before its first statement. Kysely queues statements and transactions on that one handle.
 *
 * Closed through MikroORM's API (`driver.close()`, `driver.reconnect()`, as the schema tools do), it opens
 * again on `connect()` or on its next query: a pooled tenant never stays closed. Evicted by the pool (or
 * deleted), it is closed for good and queries fail with a coded error. It never runs MikroORM's
 * `onConnect` (which would ensure the shared ORM's database) nor the app's `onCreateConnection` (tenant
 * handles get `tenancy.pragmas`).
 */
export class TenantSqliteConnection extends SqliteConnection implements TenantConnectionControl {
  #binding?: TenantBinding;
  #state: 'open' | 'closed' | 'evicted' = 'open';
  /** The handle's close in progress (it waits for the statement or transaction holding it), awaited before a reopen. */
  #closing: Promise<void> = Promise.resolve();
  /** Why an evicted connection was closed, for the error its next query gets; unset: evicted by the pool. */
  #closedBy?: 'deletion' | 'tenancy';

  /** Marks the tenant as being deleted: once closed, queries fail with `ERR_TENANT_DELETED`. */
  markDeleted(): void {
    this.#closedBy = 'deletion';
  }

  /** Marks the tenancy as closing: once closed, queries fail with `ERR_TENANCY_CLOSED`. */
  markTenancyClosed(): void {
    this.#closedBy ??= 'tenancy';
  }

  /** Points this connection at a tenant. Must be called before the first query. */
  bind(binding: TenantBinding): void {
    this.#binding = binding;
  }

  /** The tenant this connection belongs to, if bound. */
  get binding(): TenantBinding | undefined {
    return this.#binding;
  }

  override createKyselyDialect(options: Dictionary): Dialect {
    const binding = this.#binding!;
    // SqliteConnection opens `dbName` with these better-sqlite3 options; the tenant's own hook replaces the app's.
    const dialect = super.createKyselyDialect({ ...options, dbName: binding.file, fileMustExist: !binding.create });
    const db = this.#handle()!;
    try {
      binding.setup(db);
      if (binding.quotaBytes !== undefined) {
        // The quota: SQLite refuses (SQLITE_FULL) and rolls back any statement growing the file past it.
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(binding.quotaBytes / pageSize))}`);
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return tenantDialect(dialect, db, binding.guard);
  }

  /** Opens the tenant's file now (synchronously: better-sqlite3 is), so a missing or unreadable file fails here. */
  open(): void {
    this.#assertUsable();
    if (!this.connected) {
      this.getClient();
      this.connected = true;
    }
  }

  override async connect(): Promise<void> {
    this.#assertUsable();
    if (this.#state === 'closed' || !this.connected) {
      // Never two handles on one file in one process: the old one closes first.
      await this.#closing;
      this.#assertUsable();
      this.#state = 'open';
      await this.initClient();
      this.connected = true;
    }
  }

  // Tenant connections never ensure a database: the shared ORM's schema generator would reach the shared one.
  override async onConnect(): Promise<void> {}

  override async execute<T>(...args: Parameters<SqliteConnection['execute']>): Promise<T> {
    this.#assertUsable();
    // Statements MikroORM's own tools send without a logger context (its Migrator, schema generator) are
    // logged with the tenant too, as the tenant's EntityManagers log theirs.
    const [query, params, method, ctx, loggerContext] = args;
    const tenantId = this.#binding!.tenantId;
    const labelled = (loggerContext as { label?: unknown } | undefined)?.label !== undefined
      ? loggerContext : { label: `tenant:${tenantId}`, tenantId, ...loggerContext };
    const run = () => super.execute(query, params, method, ctx, labelled as never) as Promise<T>;
    const binding = this.#binding!;
    const { observer } = binding;
    const running = observer?.timesQueries ? observer.query(tenantId, run) : run();
    if (binding.quotaBytes === undefined) {
      return running;
    }
    try {
      return await running;
    } catch (error) {
      throw this.#quotaError(error);
    }
  }

  /**
   * Runs `fn` with the tenant's raw better-sqlite3 handle, held as a statement or a transaction holds it
   * (kysely's one connection): after the work queued before it, with nothing else running on it until `fn`
   * returns. For SQLite work that needs nothing of MikroORM (no logging, no entities), such as a migration script.
   */
  async withHandle<T>(fn: (db: TenantHandle) => T): Promise<T> {
    this.#assertUsable();
    await this.ensureConnection();
    return this.getClient().connection().execute(async () => fn(guardedHandle(this.#handle()!, this.#binding!.guard)));
  }

  /** True when MikroORM's logger prints queries (`debug` on): work done through {@link withHandle} would not be logged. */
  get logsQueries(): boolean {
    return this.logger.isEnabled('query');
  }

  /** SQLITE_FULL on a tenant with a quota is the quota (its page cap), reported and coded; other errors pass. */
  #quotaError(error: unknown): unknown {
    const binding = this.#binding!;
    const code = (error as { code?: unknown } | undefined)?.code ?? (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
    if (binding.quotaBytes === undefined || code !== 'SQLITE_FULL') {
      return error;
    }
    const db = this.#handle();
    const size = db?.open ? (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number) : undefined;
    binding.observer?.quotaExceeded(binding.tenantId, binding.quotaBytes, size);
    return TenantError.quotaExceeded(binding.tenantId, binding.quotaBytes, error);
  }

  // A tenant transaction's shared writes (if any) commit just before it, and roll back with it.
  override async commit(...args: Parameters<SqliteConnection['commit']>): Promise<void> {
    const router = this.#binding?.sharedWrites;
    await router?.commit(args[0]);
    await super.commit(...args);
    // Shared writes made by beforeTransactionCommit subscribers.
    await router?.commit(args[0]);
  }

  override async rollback(...args: Parameters<SqliteConnection['rollback']>): Promise<void> {
    try {
      await this.#binding?.sharedWrites?.rollback(args[0]);
    } finally {
      await super.rollback(...args);
    }
  }

  override async begin(...args: Parameters<SqliteConnection['begin']>): ReturnType<SqliteConnection['begin']> {
    this.#assertUsable();
    const trx = await super.begin(...args);
    trackSavepoint(trx, args[0]?.ctx);
    return trx;
  }

  override close(force?: boolean): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.connected = false;
      this.#closing = this.#shutdown(force);
    }
    return this.#closing;
  }

  /** Closes the connection for good (the pool evicts the tenant, or deletes it). */
  evict(): Promise<void> {
    const closing = this.close();
    this.#state = 'evicted';
    return closing;
  }

  async #shutdown(force?: boolean): Promise<void> {
    if (this.#handle()?.open) {
      // Kysely would close the handle under the statement or transaction holding it: close it once it is ours.
      await this.getClient().connection().execute(() => super.close(force));
    } else {
      await super.close(force);
    }
  }

  #handle(): Database.Database | undefined {
    return (this as unknown as SqliteConnectionInternals).database;
  }

  #assertUsable(): void {
    if (!this.#binding) {
      throw TenantError.noTenantContext();
    }
    if (this.#state === 'evicted') {
      const tenantId = this.#binding.tenantId;
      throw this.#closedBy === 'deletion' ? TenantError.tenantDeleted(tenantId)
        : this.#closedBy === 'tenancy' ? TenantError.tenancyClosed() : TenantError.tenantEvicted(tenantId);
    }
  }
}

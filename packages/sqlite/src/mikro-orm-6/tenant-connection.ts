import type { Knex } from 'knex';
import type { LogContext, TransactionEventBroadcaster } from '@mikro-orm/core';
import { BetterSqliteConnection } from '@mikro-orm/better-sqlite';
import { TenantError } from '@mikro-tenant/core';
import type { TenantBinding } from '../orm-adapter.js';
import { guardedHandle, type TenantHandle } from '../tenant-handle.js';
import { TenantKnexDialect } from './tenant-knex-dialect.js';
import { templateKnex, tenantKnex } from './tenant-knex.js';

/**
 * A knex-backed MikroORM connection to one tenant's file.
 *
 * Closed through MikroORM's API (`driver.close()`, `driver.reconnect()`, as the schema tools do), it opens
 * again on `connect()` or, as MikroORM's lazy connect does, on its next query: a pooled tenant never stays
 * closed. Evicted by the pool (or deleted), it is closed for good and queries fail with a coded error.
 */
export class TenantSqliteConnection extends BetterSqliteConnection {
  #binding?: TenantBinding;
  #state: 'open' | 'closed' | 'evicted' = 'open';
  /** The handle's close in progress (it waits for the current lease), awaited before a reopen. */
  #closing: Promise<void> = Promise.resolve();
  /** Why an evicted connection was closed, for the error its next query gets; unset: evicted by the pool. */
  #closedBy?: 'deletion' | 'tenancy';
  #sqlOnly = false;

  /** Lets an unbound connection build SQL (the schema generator's DDL), never run it. */
  buildSqlOnly(): void {
    this.#sqlOnly = true;
  }

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

  override createKnex(): void {
    this.client = tenantKnex(TenantKnexDialect.forTenant(this.#binding!));
    this.connected = true;
  }

  /**
   * Opens the tenant's file now (synchronously: better-sqlite3 is), so a missing or unreadable file fails
   * here and not on the first query; no validation query is needed.
   */
  open(): void {
    this.#assertUsable();
    if (!this.client) {
      this.createKnex();
    }
    (this.client.client as unknown as TenantKnexDialect).openHandle();
  }

  override async connect(): Promise<void> {
    this.#assertUsable();
    if (this.#state === 'closed' || !this.client) {
      // Never two handles on one file in one process: the old one closes first.
      await this.#closing;
      this.#assertUsable();
      this.#state = 'open';
      this.createKnex();
    }
  }

  override getKnex(): Knex {
    if (this.#sqlOnly && !this.#binding) {
      return templateKnex();
    }
    this.#assertUsable();
    return super.getKnex();
  }

  override async execute<T>(...args: Parameters<BetterSqliteConnection['execute']>): Promise<T> {
    this.#assertUsable();
    const binding = this.#binding!;
    const { observer } = binding;
    const run = observer?.timesQueries ? observer.query(binding.tenantId, () => super.execute(...args) as Promise<T>) : super.execute(...args) as Promise<T>;
    if (binding.quotaBytes === undefined) {
      return run;
    }
    try {
      return await run;
    } catch (error) {
      throw this.#quotaError(error);
    }
  }

  /** SQLITE_FULL on a tenant with a quota is the quota (its page cap), reported and coded; other errors pass. */
  #quotaError(error: unknown): unknown {
    const binding = this.#binding!;
    if (binding.quotaBytes === undefined || (error as { code?: unknown } | undefined)?.code !== 'SQLITE_FULL') {
      return error;
    }
    const db = (this.client?.client as unknown as TenantKnexDialect | undefined)?.currentHandle();
    const size = db ? (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number) : undefined;
    binding.observer?.quotaExceeded(binding.tenantId, binding.quotaBytes, size);
    return TenantError.quotaExceeded(binding.tenantId, binding.quotaBytes, error);
  }

  /**
   * Runs `fn` with the tenant's raw better-sqlite3 handle, held as a statement or a transaction holds it:
   * after the work queued before it, with nothing else running on it until `fn` returns. For SQLite work
   * that needs nothing of MikroORM (no logging, no entities), such as a migration script.
   */
  async withHandle<T>(fn: (db: TenantHandle) => T): Promise<T> {
    this.#assertUsable();
    await this.ensureConnection();
    const dialect = this.client.client as unknown as TenantKnexDialect;
    const db = await dialect.acquireConnection();
    try {
      return fn(guardedHandle(db, this.#binding!.guard));
    } finally {
      await dialect.releaseConnection(db);
    }
  }

  /** True when MikroORM's logger prints queries (`debug` on): work done through {@link withHandle} would not be logged. */
  get logsQueries(): boolean {
    return this.logger.isEnabled('query');
  }

  // Transactions reach knex directly: reopen a closed connection first, as execute() does.
  override async begin(...args: Parameters<BetterSqliteConnection['begin']>): ReturnType<BetterSqliteConnection['begin']> {
    await this.ensureConnection();
    return super.begin(...args);
  }

  // Not async: on eviction the handle closes in this call, without a promise round per layer.
  override close(force?: boolean): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.connected = false;
      this.#closing = this.client ? (this.client.client as unknown as TenantKnexDialect).destroy() : Promise.resolve();
    }
    return this.#closing;
  }

  /** Closes the connection for good (the pool evicts the tenant, or deletes it). */
  evict(): Promise<void> {
    const closing = this.close();
    this.#state = 'evicted';
    return closing;
  }

  // A tenant transaction's shared writes (if any) commit just before it, and roll back with it.
  override async commit(ctx: Knex.Transaction, eventBroadcaster?: TransactionEventBroadcaster, loggerContext?: LogContext): Promise<void> {
    const router = this.#binding?.sharedWrites;
    await router?.commit(ctx);
    await super.commit(ctx, eventBroadcaster, loggerContext);
    // Shared writes made by beforeTransactionCommit subscribers.
    await router?.commit(ctx);
  }

  override async rollback(ctx: Knex.Transaction, eventBroadcaster?: TransactionEventBroadcaster, loggerContext?: LogContext): Promise<void> {
    try {
      await this.#binding?.sharedWrites?.rollback(ctx);
    } finally {
      await super.rollback(ctx, eventBroadcaster, loggerContext);
    }
  }

  protected override getKnexOptions(type: string): Knex.Config {
    return {
      client: TenantKnexDialect as never,
      connection: { filename: this.#binding!.file },
      // One handle per tenant file, leased by TenantKnexDialect: statements and transactions queue on it.
      useNullAsDefault: true,
    };
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

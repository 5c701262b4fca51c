import type {
  EntityName, EventArgs, EventSubscriber, FlushEventArgs, TransactionEventArgs, EntityManager,
} from '@mikro-orm/core';
import { helper } from '@mikro-orm/core';
import { canonicalTenantId } from './tenant-id.js';
import { FLAT_TRANSACTIONS, type TransactionInspector } from './transaction-inspector.js';

/** Options of {@link TenantDeletionSubscriber}. */
export interface TenantDeletionSubscriberOptions<T extends object> {
  /** The entity whose rows are tenants (e.g. `User` or `Organization`). */
  entity: EntityName<T>;
  /** Deletes the tenant's data. Called after the deletion of the row is committed. */
  deleteTenant(tenantId: string): Promise<void>;
  /** When false, nothing is deleted and a warning says the data stays. @default false */
  enabled?: boolean;
  /**
   * Reads the tenant id from an entity: pass the tenancy's own rule (`entity => tenancy.tenantId(entity)`),
   * so the subscriber deletes the tenant that `run(entity)` opens. @default the entity's primary key
   */
  tenantIdOf?(entity: T): unknown;
  /**
   * The EntityManager that checks, after the commit, that the row is gone, given the one that flushed
   * the removal (which may be a tenant's, reading the shared table through another connection).
   * @default em => em.fork()
   */
  checkWith?(em: EntityManager): EntityManager;
  /** Receives warnings and errors. @default `process.emitWarning` */
  warn?(message: string): void;
  /** Finds the outermost transaction of a nested one, whose commit is the one that counts. @default transactions taken as never nested */
  transactions?: TransactionInspector;
}

/**
 * A MikroORM subscriber on the tenant entity: when a tenant row is removed with `em.remove()` +
 * `flush()`, the tenant's database is deleted once the deletion is committed (never inside the
 * transaction, which could still roll back), and only if the row is really gone.
 *
 * Off by default: with `enabled: false` it only warns that the data was kept. `nativeDelete()` and
 * QueryBuilder deletes fire no entity events and are not seen: call `deleteTenant(id)` yourself then.
 */
export class TenantDeletionSubscriber<T extends object> implements EventSubscriber<T> {
  readonly #options: TenantDeletionSubscriberOptions<T>;
  /** Removed tenants per root transaction (the `undefined` key: flushes without a transaction): tenant id -> the row's primary key. */
  readonly #pending = new Map<object | undefined, Map<string, unknown>>();

  constructor(options: TenantDeletionSubscriberOptions<T>) {
    this.#options = options;
  }

  getSubscribedEntities(): EntityName<T>[] {
    return [this.#options.entity];
  }

  afterDelete(args: EventArgs<T>): void {
    const tenantId = this.#tenantIdOf(args.entity);
    if (tenantId === undefined) {
      return;
    }
    const context = args.em.getTransactionContext() as object | undefined;
    const trx = context && (this.#options.transactions ?? FLAT_TRANSACTIONS).rootOf(context);
    const removed = this.#pending.get(trx) ?? new Map<string, unknown>();
    removed.set(tenantId, helper(args.entity).getPrimaryKey());
    this.#pending.set(trx, removed);
  }

  async afterTransactionCommit(args: TransactionEventArgs): Promise<void> {
    await this.#settle(args.transaction as object | undefined, args.em);
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    this.#pending.delete(args.transaction as object | undefined);
  }

  async afterFlush(args: FlushEventArgs): Promise<void> {
    if (this.#pending.has(undefined)) {
      await this.#settle(undefined, args.em);
    }
  }

  async #settle(key: object | undefined, em: EntityManager): Promise<void> {
    const removed = this.#pending.get(key);
    if (!removed) {
      return;
    }
    this.#pending.delete(key);
    for (const [tenantId, primaryKey] of removed) {
      await this.#deleteIfGone(tenantId, primaryKey, em);
    }
  }

  async #deleteIfGone(tenantId: string, primaryKey: unknown, em: EntityManager): Promise<void> {
    const warn = this.#options.warn ?? ((message: string) => process.emitWarning(message, 'TenantDeletionWarning', 'MIKRO_TENANT_DELETION'));
    if (!this.#options.enabled) {
      warn(`mikro-tenant: tenant "${tenantId}" was deleted but its database was kept (deleteOnTenantDelete is off).`);
      return;
    }
    try {
      const meta = em.getMetadata().find(this.#options.entity)!;
      const pk = meta.primaryKeys[0]!;
      // The removed row itself, by its primary key: with a custom tenantIdOf the tenant id is another value.
      const checker = this.#options.checkWith ? this.#options.checkWith(em) : em.fork();
      const rest = await checker.count(this.#options.entity, { [pk]: primaryKey } as never);
      if (rest > 0) {
        warn(`mikro-tenant: tenant "${tenantId}" still exists after the commit; its database was kept.`);
        return;
      }
      await this.#options.deleteTenant(tenantId);
    } catch (error) {
      warn(`mikro-tenant: deleting the database of tenant "${tenantId}" failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #tenantIdOf(entity: T): string | undefined {
    const raw = this.#options.tenantIdOf ? this.#options.tenantIdOf(entity) : helper(entity).getPrimaryKey();
    try {
      return canonicalTenantId(raw);
    } catch {
      return undefined;
    }
  }
}

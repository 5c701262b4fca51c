import { AsyncResource } from 'node:async_hooks';
import { checkTenantPage, type TenantPage } from './tenant-page.js';
import type { TenantRecord, TenantRegistry } from './tenant-registry.js';

/** A registration as {@link TenantRegistry.register} takes it. */
export type TenantRegistration = Omit<TenantRecord, 'createdAt'> & { createdAt?: Date };

/**
 * A {@link TenantRegistry} that can also take registrations to write a moment later, off the caller's
 * path: {@link registerSoon} queues the row and returns at once; the rows queued meanwhile are written
 * together (one statement where the registry supports it) on the next turn of the event loop.
 *
 * Reads see queued rows as if written (`list`, `get`, `exists`), and writes to a queued tenant act on the
 * queue (`unregister`, `setSchemaVersion`, `register`), so callers never observe the delay; changes to a
 * row whose write is under way are applied again after it. Nothing waits on the queue except
 * {@link flush} (call it before closing the connection): a read inside a transaction of the shared
 * database never waits for a background write that waits for that transaction.
 *
 * Until a queued row is written it lives in memory only: a process that dies in that moment leaves the
 * tenant's storage without a registry row, which `reconcile` reports and repairs (as for any failed
 * registration, which goes to `onError`).
 */
export class DeferredTenantRegistry implements TenantRegistry {
  readonly #inner: TenantRegistry;
  readonly #onError: (error: unknown, records: TenantRecord[]) => void;
  /** Queued rows by tenant id, kept until written so that reads see them meanwhile. */
  readonly #queued = new Map<string, TenantRecord>();
  /** Runs every write outside the async context of whoever queued or flushed (never inside their transaction). */
  readonly #detached = new AsyncResource('mikro-tenant:registry');
  #writing?: Promise<void>;
  #scheduled = false;
  /** Tenant ids in the write under way, and those of them unregistered meanwhile. */
  #inFlight?: Set<string>;
  readonly #unregisteredInFlight = new Set<string>();

  /**
   * @param inner the registry the rows are written to
   * @param onError receives a failed background write and the rows it held (they stay unregistered)
   */
  constructor(inner: TenantRegistry, onError: (error: unknown, records: TenantRecord[]) => void) {
    this.#inner = inner;
    this.#onError = onError;
  }

  /** The registry the rows are written to. */
  get inner(): TenantRegistry {
    return this.#inner;
  }

  /** Rows queued and not yet written. */
  get queued(): number {
    return this.#queued.size;
  }

  /** Queues a registration (a tenant already queued keeps its first row) and returns the row that will be written. */
  registerSoon(registration: TenantRegistration): TenantRecord {
    const existing = this.#queued.get(registration.tenantId);
    if (existing) {
      return existing;
    }
    const record = { ...registration, createdAt: registration.createdAt ?? new Date() };
    this.#queued.set(record.tenantId, record);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#detached.runInAsyncScope(() => setImmediate(() => {
        this.#scheduled = false;
        void this.flush();
      }));
    }
    return record;
  }

  /** Resolves when the queue is empty: every queued row written (or handed to `onError`). Never rejects. */
  async flush(): Promise<void> {
    while (this.#writing || this.#queued.size > 0) {
      this.#writing ??= this.#detached.runInAsyncScope(() => this.#write()).finally(() => { this.#writing = undefined; });
      await this.#writing;
    }
  }

  async #write(): Promise<void> {
    const records = [...this.#queued.values()];
    const versions = records.map(record => record.schemaVersion);
    this.#inFlight = new Set(records.map(record => record.tenantId));
    try {
      const rows = records.map(record => ({ ...record }));
      if (this.#inner.registerMany) {
        await this.#inner.registerMany(rows);
      } else {
        for (const row of rows) {
          await this.#inner.register(row);
        }
      }
      // Changes made while the rows were on their way may have reached the database before them.
      for (const [i, record] of records.entries()) {
        if (this.#unregisteredInFlight.has(record.tenantId)) {
          await this.#inner.unregister(record.tenantId);
        } else if (record.schemaVersion !== versions[i]) {
          await this.#inner.setSchemaVersion(record.tenantId, record.schemaVersion);
        }
      }
    } catch (error) {
      this.#onError(error, records);
    } finally {
      for (const record of records) {
        // Only the row written: an unregister and re-register meanwhile queued a new one.
        if (this.#queued.get(record.tenantId) === record) {
          this.#queued.delete(record.tenantId);
        }
      }
      this.#inFlight = undefined;
      this.#unregisteredInFlight.clear();
    }
  }

  ensure(): Promise<void> {
    return this.#inner.ensure();
  }

  async register(registration: TenantRegistration): Promise<boolean> {
    if (this.#queued.has(registration.tenantId)) {
      return false;
    }
    this.#unregisteredInFlight.delete(registration.tenantId);
    return this.#inner.register(registration);
  }

  async registerMany(registrations: TenantRegistration[]): Promise<number> {
    const fresh = registrations.filter(r => !this.#queued.has(r.tenantId));
    if (this.#inner.registerMany) {
      return this.#inner.registerMany(fresh);
    }
    let added = 0;
    for (const registration of fresh) {
      added += Number(await this.#inner.register(registration));
    }
    return added;
  }

  async unregister(tenantId: string): Promise<boolean> {
    const wasQueued = this.#queued.delete(tenantId);
    if (this.#inFlight?.has(tenantId)) {
      // The write under way may insert it after this delete: it deletes it again when done.
      this.#unregisteredInFlight.add(tenantId);
    }
    return (await this.#inner.unregister(tenantId)) || wasQueued;
  }

  async exists(tenantId: string): Promise<boolean> {
    return this.#queued.has(tenantId) || this.#inner.exists(tenantId);
  }

  async get(tenantId: string): Promise<TenantRecord | undefined> {
    const queued = this.#queued.get(tenantId);
    return queued ? { ...queued } : this.#inner.get(tenantId);
  }

  async list(page?: TenantPage): Promise<TenantRecord[]> {
    checkTenantPage(page);
    const written = await this.#inner.list(page);
    if (this.#queued.size === 0) {
      return written;
    }
    // Queued rows belong in the page by their id: with the page's written rows, sorted, cut at its limit.
    const byId = new Map(written.map(record => [record.tenantId, record]));
    for (const record of this.#queued.values()) {
      if (!byId.has(record.tenantId) && (page?.after === undefined || record.tenantId > page.after)) {
        byId.set(record.tenantId, { ...record });
      }
    }
    const rows = [...byId.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
    return page?.limit === undefined ? rows : rows.slice(0, page.limit);
  }

  async setSchemaVersions(tenantIds: string[], version: string | null): Promise<void> {
    const written: string[] = [];
    for (const tenantId of tenantIds) {
      const queued = this.#queued.get(tenantId);
      if (queued) {
        queued.schemaVersion = version;
      } else {
        written.push(tenantId);
      }
    }
    if (this.#inner.setSchemaVersions) {
      await this.#inner.setSchemaVersions(written, version);
    } else {
      for (const tenantId of written) {
        await this.#inner.setSchemaVersion(tenantId, version);
      }
    }
  }

  async setSchemaVersion(tenantId: string, version: string | null): Promise<void> {
    const queued = this.#queued.get(tenantId);
    if (queued) {
      // Written with the row (or after it, when its write is under way).
      queued.schemaVersion = version;
      return;
    }
    await this.#inner.setSchemaVersion(tenantId, version);
  }
}

import { TenantError } from './errors.js';

/** How a {@link TenantPool} opens and closes the per-tenant resource it keeps (a connection, a driver...). */
export interface TenantPoolHooks<H> {
  /**
   * Opens the resource of a tenant. Called at most once at a time per tenant, with the options of the
   * {@link TenantPool.acquire} call that found it closed.
   */
  open(tenantId: string, options: TenantOpenOptions): Promise<H>;
  /** Closes a resource that is no longer used. Errors are reported through `onError`, never thrown to callers. */
  close(handle: H, tenantId: string): Promise<void>;
  /** Receives errors of background closes. @default emits a process warning */
  onError?(error: unknown, tenantId: string): void;
}

/** Options of {@link TenantPool.acquire}, passed to `open()` when the tenant is not open. */
export interface TenantOpenOptions {
  /** May a tenant that does not exist be created? @default the strategy's setting (e.g. `autoCreate`) */
  create?: boolean;
}

/** A claim on an open tenant resource; the pool never closes it while a lease is held. */
export interface TenantLease<H> {
  readonly tenantId: string;
  readonly handle: H;
  /** Gives the lease back. Idempotent. */
  release(): void;
}

interface Entry<H> {
  handle: H;
  leases: number;
  /** Set while the tenant is being deleted: new leases wait for it. */
  retiring?: Promise<void>;
}

/**
 * Keeps at most `maxOpen` tenant resources open, closing the least recently used idle ones first.
 *
 * A resource with a lease is never closed: when every open resource is leased the pool grows past
 * `maxOpen` for as long as that lasts and shrinks back as leases are returned (waiting instead could
 * deadlock a request that leases two tenants). Concurrent first acquisitions of one tenant share one
 * `open()`. Strategy-neutral: it knows nothing of what the resource is.
 */
export class TenantPool<H> {
  readonly #hooks: TenantPoolHooks<H>;
  readonly #maxOpen: number;
  /** Map iteration order is the LRU order: oldest first. */
  readonly #entries = new Map<string, Entry<H>>();
  readonly #opening = new Map<string, Promise<Entry<H>>>();
  /** Acquires waiting for a tenant to open: its entry is theirs until they lease it, so it is not evicted meanwhile. */
  readonly #awaitingOpen = new Map<string, number>();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  constructor(maxOpen: number, hooks: TenantPoolHooks<H>) {
    if (!Number.isInteger(maxOpen) || maxOpen < 1) {
      throw TenantError.invalidOption('maxOpen', `expected a positive integer, got ${String(maxOpen)}`);
    }
    this.#maxOpen = maxOpen;
    this.#hooks = hooks;
  }

  /** Number of open resources (leased or idle). */
  get size(): number {
    return this.#entries.size;
  }

  /** Number of leases currently held on `tenantId`. */
  leases(tenantId: string): number {
    return this.#entries.get(tenantId)?.leases ?? 0;
  }

  /** Ids of open tenants, least recently used first. */
  openTenants(): string[] {
    return [...this.#entries.keys()];
  }

  /** True while the pool has the tenant open, is opening it or is retiring it. */
  has(tenantId: string): boolean {
    return this.#entries.has(tenantId) || this.#opening.has(tenantId);
  }

  /** The open resource of a tenant without leasing it or changing the LRU order. */
  peek(tenantId: string): H | undefined {
    return this.#entries.get(tenantId)?.handle;
  }

  /**
   * Leases the resource of `tenantId`, opening it if needed (with `options`; a concurrent open of the
   * same tenant is shared, with the options of the call that started it), and marks it most recently used.
   *
   * @throws TenantError `ERR_TENANCY_CLOSED` after {@link close}; whatever `open()` throws
   */
  async acquire(tenantId: string, options: TenantOpenOptions = {}): Promise<TenantLease<H>> {
    for (;;) {
      this.#assertOpen();
      const entry = this.#entries.get(tenantId);
      if (entry?.retiring) {
        await entry.retiring.catch(() => undefined);
        continue;
      }
      if (entry) {
        return this.#lease(tenantId, entry);
      }
      this.#awaitingOpen.set(tenantId, (this.#awaitingOpen.get(tenantId) ?? 0) + 1);
      let opened: Entry<H>;
      try {
        opened = await this.#open(tenantId, options);
      } finally {
        const waiting = this.#awaitingOpen.get(tenantId)! - 1;
        if (waiting > 0) {
          this.#awaitingOpen.set(tenantId, waiting);
        } else {
          this.#awaitingOpen.delete(tenantId);
        }
      }
      if (this.#entries.get(tenantId) === opened && !opened.retiring) {
        return this.#lease(tenantId, opened);
      }
    }
  }

  /**
   * Leases the resource of `tenantId` at once when it is open (and not being retired), marking it most
   * recently used; `undefined` otherwise, for {@link acquire} to open it or wait. Spares the warm path a
   * promise.
   *
   * @throws TenantError `ERR_TENANCY_CLOSED` after {@link close}
   */
  tryAcquire(tenantId: string): TenantLease<H> | undefined {
    this.#assertOpen();
    const entry = this.#entries.get(tenantId);
    return entry && !entry.retiring ? this.#lease(tenantId, entry) : undefined;
  }

  /** Marks a tenant most recently used without leasing it (for work done outside a lease). */
  touch(tenantId: string): void {
    const entry = this.#entries.get(tenantId);
    if (entry && !entry.retiring) {
      this.#entries.delete(tenantId);
      this.#entries.set(tenantId, entry);
    }
  }

  /**
   * Removes a tenant from the pool: new acquisitions wait, current leases get `graceMs` to finish,
   * then the resource is closed and `then` runs (e.g. to delete the tenant's storage). Resolves when all of
   * that is done; the acquisitions that waited go on at the next turn of the event loop.
   */
  async retire(tenantId: string, graceMs: number, then?: () => Promise<void>): Promise<void> {
    const pending = this.#opening.get(tenantId);
    if (pending) {
      await pending.catch(() => undefined);
    }
    const entry = this.#entries.get(tenantId);
    if (entry?.retiring) {
      await entry.retiring;
      return this.retire(tenantId, graceMs, then);
    }
    let finish!: () => void;
    const done = new Promise<void>(resolve => { finish = resolve; });
    const placeholder: Entry<H> = entry ?? { handle: undefined as H, leases: 0 };
    placeholder.retiring = done;
    this.#entries.set(tenantId, placeholder);
    try {
      if (entry) {
        await waitFor(() => entry.leases === 0, graceMs);
        await this.#hooks.close(entry.handle, tenantId);
      }
      await then?.();
    } finally {
      this.#entries.delete(tenantId);
      // Work that waited resumes on the next turn of the event loop, after whoever retired the tenant has
      // had its answer: a deletion's caller sees the files gone before queued work provisions the tenant
      // afresh, however few microtasks that provisioning takes.
      setImmediate(finish);
    }
  }

  /** Closes every resource, leased or not, and refuses further acquisitions. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#opening.values()]);
    const entries = [...this.#entries];
    this.#entries.clear();
    await Promise.allSettled(entries.filter(([, e]) => !e.retiring).map(([id, e]) => this.#hooks.close(e.handle, id)));
    await Promise.allSettled([...this.#closing]);
  }

  #lease(tenantId: string, entry: Entry<H>): TenantLease<H> {
    entry.leases++;
    this.#entries.delete(tenantId);
    this.#entries.set(tenantId, entry);
    let released = false;
    return {
      tenantId,
      handle: entry.handle,
      release: () => {
        if (released) {
          return;
        }
        released = true;
        entry.leases--;
        if (entry.leases === 0) {
          this.#evict();
        }
      },
    };
  }

  #open(tenantId: string, options: TenantOpenOptions): Promise<Entry<H>> {
    let opening = this.#opening.get(tenantId);
    if (!opening) {
      opening = this.#hooks.open(tenantId, options).then(handle => {
        const entry: Entry<H> = { handle, leases: 0 };
        if (this.#closed) {
          this.#closeInBackground(tenantId, handle);
          throw TenantError.tenancyClosed();
        }
        this.#entries.set(tenantId, entry);
        this.#evict(tenantId);
        return entry;
      }).finally(() => this.#opening.delete(tenantId));
      this.#opening.set(tenantId, opening);
    }
    return opening;
  }

  /** Closes idle entries, oldest first, until the pool is within `maxOpen` (or only leased ones remain). */
  #evict(keep?: string): void {
    if (this.#entries.size <= this.#maxOpen) {
      return;
    }
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxOpen) {
        break;
      }
      if (entry.leases > 0 || entry.retiring || id === keep || this.#awaitingOpen.has(id)) {
        continue;
      }
      this.#entries.delete(id);
      this.#closeInBackground(id, entry.handle);
    }
  }

  #closeInBackground(tenantId: string, handle: H): void {
    const closing = this.#hooks.close(handle, tenantId)
      .catch(error => (this.#hooks.onError ?? defaultOnError)(error, tenantId))
      .finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw TenantError.tenancyClosed();
    }
  }
}

function defaultOnError(error: unknown, tenantId: string): void {
  process.emitWarning(`mikro-tenant: closing tenant "${tenantId}" failed: ${error instanceof Error ? error.message : String(error)}`,
    'TenantPoolWarning', 'MIKRO_TENANT_CLOSE_FAILED');
}

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

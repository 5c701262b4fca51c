import type { DeferredTenantRegistry, TenantRegistration } from './deferred-registry.js';
import type { TenantPage } from './tenant-page.js';
import type { TenantRecord, TenantRegistry } from './tenant-registry.js';

/**
 * The registry as a tenancy hands it to its users (`tenancy.registry`): every call first asks the
 * tenancy whether it is still usable, so nothing reaches the shared database after `close()` began
 * (`ERR_TENANCY_CLOSED`). The tenancy's own work (provisioning, deletion, `close()` writing queued
 * rows) goes to the wrapped registry directly, and so can finish while `close()` waits for it.
 */
export class TenancyRegistry implements TenantRegistry {
  readonly #inner: DeferredTenantRegistry;
  readonly #assertUsable: () => void;

  /**
   * @param inner the registry the tenancy writes to
   * @param assertUsable throws (e.g. `ERR_TENANCY_CLOSED`) when the tenancy may no longer be used
   */
  constructor(inner: DeferredTenantRegistry, assertUsable: () => void) {
    this.#inner = inner;
    this.#assertUsable = assertUsable;
  }

  /** Rows queued and not yet written (a tenant created by its first request gets its row just after). */
  get queued(): number {
    return this.#inner.queued;
  }

  /** Resolves when every queued row is written (or reported as failed). */
  async flush(): Promise<void> {
    this.#assertUsable();
    await this.#inner.flush();
  }

  async ensure(): Promise<void> {
    this.#assertUsable();
    await this.#inner.ensure();
  }

  async register(registration: TenantRegistration): Promise<boolean> {
    this.#assertUsable();
    return this.#inner.register(registration);
  }

  async registerMany(registrations: TenantRegistration[]): Promise<number> {
    this.#assertUsable();
    return this.#inner.registerMany(registrations);
  }

  async unregister(tenantId: string): Promise<boolean> {
    this.#assertUsable();
    return this.#inner.unregister(tenantId);
  }

  async exists(tenantId: string): Promise<boolean> {
    this.#assertUsable();
    return this.#inner.exists(tenantId);
  }

  async get(tenantId: string): Promise<TenantRecord | undefined> {
    this.#assertUsable();
    return this.#inner.get(tenantId);
  }

  async list(page?: TenantPage): Promise<TenantRecord[]> {
    this.#assertUsable();
    return this.#inner.list(page);
  }

  async setSchemaVersion(tenantId: string, version: string | null): Promise<void> {
    this.#assertUsable();
    await this.#inner.setSchemaVersion(tenantId, version);
  }

  async setSchemaVersions(tenantIds: string[], version: string | null): Promise<void> {
    this.#assertUsable();
    await this.#inner.setSchemaVersions(tenantIds, version);
  }
}

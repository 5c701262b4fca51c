import { TenantError, isTenantError } from './errors.js';
import type { ProvisionResult, TenantProvisioning } from './tenancy-strategy.js';

/** What one provisioning attempt of a {@link OncePerTenantProvisioning} reports. */
export type ProvisionOutcome = ProvisionResult & {
  /** `created` is false because another process created the tenant's storage first (counted in `races`). */
  lostRace?: boolean;
};

/**
 * The part of {@link TenantProvisioning} every strategy shares: one provisioning of a tenant at a time in
 * the process (a second caller waits for the first and, when it asked explicitly, learns that the tenant
 * existed), the counts of tenants created and of races lost to other processes, and one error code for every
 * way provisioning fails. A strategy writes {@link attempt}: create the storage unless it exists, leave
 * nothing behind on failure, never overwrite.
 */
export abstract class OncePerTenantProvisioning implements TenantProvisioning {
  readonly #pending = new Map<string, Promise<ProvisionResult>>();
  #provisioned = 0;
  #races = 0;

  /** Creates the tenant's storage unless it exists; resolves what it did. Called once per tenant at a time. */
  protected abstract attempt(tenantId: string): Promise<ProvisionOutcome>;

  get provisioned(): number {
    return this.#provisioned;
  }

  get races(): number {
    return this.#races;
  }

  pending(tenantId: string): Promise<ProvisionResult> | undefined {
    return this.#pending.get(tenantId);
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()]);
  }

  provision(tenantId: string, explicit: boolean): Promise<ProvisionResult> {
    let pending = this.#pending.get(tenantId);
    if (!pending) {
      pending = this.#provisionOnce(tenantId).finally(() => this.#pending.delete(tenantId));
      this.#pending.set(tenantId, pending);
      return pending;
    }
    return explicit ? pending.then(result => ({ ...result, created: false })) : pending;
  }

  async #provisionOnce(tenantId: string): Promise<ProvisionResult> {
    let outcome: ProvisionOutcome;
    try {
      outcome = await this.attempt(tenantId);
    } catch (error) {
      // One code for every way provisioning fails (a migration error, say), the reason kept as `cause`.
      throw isTenantError(error, 'ERR_TENANT_PROVISIONING_FAILED') ? error : TenantError.provisioningFailed(tenantId, error);
    }
    if (outcome.created) {
      this.#provisioned++;
    } else if (outcome.lostRace) {
      this.#races++;
    }
    const { lostRace: _, ...result } = outcome;
    return result;
  }
}

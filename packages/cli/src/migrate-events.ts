import type { AdminTenancy, TenancyEvent } from '@mikro-tenant/core';
import type { TenantMigrationOutcome } from './migrate-tenant.js';

/**
 * Reports each tenant `migrate` changed or failed as the tenancy's own `tenantMigrated` /
 * `tenantMigrationFailed` event: delivered to the subscribers of the config's tenancy (in this process,
 * whichever worker migrated the tenant) and returned for `--json`, in the same shape. Up-to-date tenants
 * are not news, as with `migrateTenant()`.
 */
export class MigrationEvents {
  readonly events: TenancyEvent[] = [];
  readonly #tenancy: AdminTenancy;
  readonly #from: Map<string, string | null>;

  private constructor(tenancy: AdminTenancy, from: Map<string, string | null>) {
    this.#tenancy = tenancy;
    this.#from = from;
  }

  /** Reads every tenant's recorded schema version (the `from` of its events) once, before the run. */
  static async start(tenancy: AdminTenancy): Promise<MigrationEvents> {
    const records = await tenancy.listTenants();
    return new MigrationEvents(tenancy, new Map(records.map(r => [r.tenantId, r.schemaVersion])));
  }

  /** The event of one tenant's outcome, if it is one. */
  add(outcome: TenantMigrationOutcome): void {
    const { tenantId, durationMs = 0 } = outcome;
    const from = this.#from.get(tenantId) ?? null;
    if (outcome.status === 'migrated') {
      this.events.push(this.#tenancy.events.emit({
        type: 'tenantMigrated', tenantId, from, to: outcome.version ?? null, executed: outcome.executed, durationMs,
      }));
    } else if (outcome.status === 'failed') {
      this.events.push(this.#tenancy.events.emit({
        type: 'tenantMigrationFailed', tenantId, from, error: { code: outcome.code, message: outcome.error ?? '' }, durationMs,
      }));
    }
  }
}

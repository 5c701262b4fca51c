import { TenantError } from '@mikro-tenant/core';
import { INCARNATION_KEY, TENANT_KEY } from './row-scope.js';

/**
 * Which life of each tenant this process is in: a tenant's EntityManagers are marked with the life they
 * were made in (in their logger context, which every fork copies), and `deleteTenant` ends that life, so
 * every one of them refuses to run from then on, also once the tenant is created again. Only deleted
 * tenants take an entry.
 */
export class TenantIncarnations {
  readonly #ended = new Map<string, number>();

  /** The life of `tenantId` that EntityManagers made now belong to. */
  current(tenantId: string): number {
    return this.#ended.get(tenantId) ?? 0;
  }

  /** Ends the current life of `tenantId`: its EntityManagers refuse to run from now on. */
  end(tenantId: string): void {
    this.#ended.set(tenantId, this.current(tenantId) + 1);
  }

  /**
   * Checks a statement's logger context: a statement of an EntityManager made in a life that has ended is refused.
   * Statements that carry no life (the tenancy's own work, `unscoped()`) pass.
   * @throws TenantError `ERR_TENANT_DELETED`
   */
  assertAlive(context: Record<string, unknown> | undefined): void {
    const life = context?.[INCARNATION_KEY];
    const tenantId = context?.[TENANT_KEY];
    if (typeof life === 'number' && typeof tenantId === 'string' && life !== this.current(tenantId)) {
      throw TenantError.tenantDeleted(tenantId);
    }
  }
}

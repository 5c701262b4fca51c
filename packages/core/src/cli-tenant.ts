import type { EntityManager } from '@mikro-orm/core';
import { TenantError } from './errors.js';
import type { Tenancy } from './tenancy.js';

/**
 * For scripts started by `mikro-tenant exec ID -- node script.js`: runs `fn` as the tenant named by the
 * `MIKRO_TENANT_ID` environment variable, on any strategy's tenancy.
 *
 * @throws TenantError `ERR_NO_TENANT_CONTEXT` when the script was not started by `mikro-tenant exec`
 * @example
 * await runAsCliTenant(tenancy, async em => console.log(await em.count(Note)));
 */
export async function runAsCliTenant<EM extends EntityManager, T>(tenancy: Tenancy<EM>, fn: (em: EM) => T | Promise<T>): Promise<T> {
  const tenantId = process.env.MIKRO_TENANT_ID;
  if (!tenantId) {
    throw TenantError.noTenantContext('a per-tenant entity (MIKRO_TENANT_ID is not set: start the script with mikro-tenant exec)');
  }
  return tenancy.run(tenantId, fn);
}

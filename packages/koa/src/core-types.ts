import type { EntityManager } from '@mikro-orm/core';
import type { Tenancy } from '@mikro-tenant/core';

export { TenantError, canonicalTenantId } from '@mikro-tenant/core';
export type { Tenancy, TenantIdInput } from '@mikro-tenant/core';

/** The EntityManager type a tenancy hands out. */
export type EntityManagerOf<T> = T extends Tenancy<infer EM> ? EM : EntityManager;

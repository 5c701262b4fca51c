import type { EntityManager } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import type { TenantMigrator } from '../orm-adapter.js';

/** MikroORM 6's Migrator on a tenant's EntityManager: it reads and writes that tenant's database only. */
export function tenantMigrator(em: EntityManager): TenantMigrator {
  const migrator = new Migrator(em as never);
  return {
    up: async () => (await migrator.up()).map(m => m.name),
    executed: async () => (await migrator.getExecutedMigrations()).map(m => m.name),
    pending: async () => (await migrator.getPendingMigrations()).map(m => m.name),
  };
}

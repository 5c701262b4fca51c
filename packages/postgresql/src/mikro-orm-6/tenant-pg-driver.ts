import type { Configuration, DriverException, MetadataStorage } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import { AbstractSqlDriver, type AbstractSqlPlatform } from '@mikro-orm/knex';
import type { TenantEntityManager } from './tenant-entity-manager.js';
import { TenantPgConnection } from './tenant-pg-connection.js';

/**
 * The MikroORM driver of one tenant: reuses the shared ORM's metadata and compiled caches, and sends its
 * statements through a {@link TenantPgConnection} (the shared pool, the tenant's `search_path`). Its
 * configuration comes from `tenant-config.ts` and names the tenant's schema.
 */
export class TenantPgDriver extends AbstractSqlDriver<TenantPgConnection> {
  constructor(config: Configuration) {
    super(config, config.getPlatform() as AbstractSqlPlatform, TenantPgConnection, ['knex', 'pg']);
  }

  override setMetadata(metadata: MetadataStorage): void {
    this.metadata = metadata;
    // The configuration caches compiled comparators/mappers: share them instead of recompiling per tenant.
    this.comparator = this.config.getComparator(metadata);
    this.connection.setMetadata(metadata);
  }

  // Our coded errors (a quota, a deleted tenant) reach the caller as they are, not wrapped in a DriverException.
  override convertException(exception: Error): DriverException {
    return exception instanceof TenantError ? exception as unknown as DriverException : super.convertException(exception);
  }

  // A tenant driver opens no connection and no replicas of its own.
  override close(): Promise<void> {
    return this.connection.close();
  }

  override createEntityManager(useContext?: boolean): TenantEntityManager {
    // The tenancy's configuration names the tenant class made over the app's `entityManager` (tenant-entity-manager.ts).
    const EntityManagerClass = this.config.get('entityManager') as unknown as new (...args: unknown[]) => TenantEntityManager;
    return new EntityManagerClass(this.config, this, this.metadata, useContext ?? false);
  }
}

import type { Configuration, DriverException, EntityManagerType, MetadataStorage } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import { AbstractSqlDriver, type AbstractSqlPlatform, type SqlEntityManager } from '@mikro-orm/sql';
import { TenantPgConnection } from './tenant-pg-connection.js';

/**
 * The MikroORM 7 driver of one tenant: reuses the shared ORM's metadata and compiled caches and its
 * platform (through the tenant's configuration, `tenant-config.ts`), and sends its statements through a
 * {@link TenantPgConnection} (the shared pool, the tenant's `search_path`). MikroORM's `PostgreSqlDriver`
 * hard-codes its connection class, so this extends `AbstractSqlDriver` as it does.
 */
export class TenantPgDriver extends AbstractSqlDriver<TenantPgConnection> {
  constructor(config: Configuration) {
    super(config, config.getPlatform() as AbstractSqlPlatform, TenantPgConnection, ['kysely', 'pg']);
  }

  override setMetadata(metadata: MetadataStorage): void {
    this.metadata = metadata;
    // The configuration caches compiled comparators/mappers: share them instead of recompiling per tenant.
    this.comparator = this.config.getComparator(metadata);
    this.connection.setMetadata(metadata);
    this.connection.setPlatform(this.platform);
  }

  // Our coded errors (a quota, a deleted tenant) reach the caller as they are, not wrapped in a DriverException.
  override convertException(exception: Error): DriverException {
    return exception instanceof TenantError ? exception as unknown as DriverException : super.convertException(exception);
  }

  // A tenant driver opens no replica connections: close the one it has, without MikroORM's Promise.all round.
  override close(force?: boolean): Promise<void> {
    return this.replicas.length ? super.close(force) : this.connection.close(force);
  }

  override createEntityManager(useContext?: boolean): this[typeof EntityManagerType] {
    // The tenancy's configuration names the tenant class made over the app's `entityManager` (tenant-entity-manager.ts).
    const EntityManagerClass = this.config.get('entityManager') as unknown as new (...args: unknown[]) => SqlEntityManager;
    return new EntityManagerClass(this.config, this, this.metadata, useContext ?? false) as this[typeof EntityManagerType];
  }
}

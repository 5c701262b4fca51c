import type { Configuration, DriverException, EntityManagerType, MetadataStorage } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';
import type { AbstractSqlPlatform, SqlEntityManager } from '@mikro-orm/sql';
import { SharedRoutingDriver } from './shared-routing-driver.js';
import { TenantSqliteConnection } from './tenant-connection.js';

/**
 * The MikroORM 7 driver of one tenant: reuses the shared ORM's metadata and compiled caches and its
 * platform (through the tenant's configuration, `tenant-config.ts`). MikroORM's `SqliteDriver` hard-codes
 * its connection class, so this extends `AbstractSqlDriver` as it does (through the routing of shared
 * entities, `shared-routing-driver.ts`), with the tenant connection.
 */
export class TenantSqliteDriver extends SharedRoutingDriver<TenantSqliteConnection> {
  constructor(config: Configuration) {
    super(config, config.getPlatform() as AbstractSqlPlatform, TenantSqliteConnection, ['kysely', 'better-sqlite3']);
  }

  /**
   * Context name of this tenant's EntityManagers, `<contextName>:tenant:<id>`: unique per tenant and per
   * tenancy, so MikroORM's request and transaction contexts never mix tenants, tenancies or the shared ORM.
   */
  get contextName(): string {
    const tenantId = this.connection.binding?.tenantId;
    const prefix = this.config.get('contextName');
    return tenantId === undefined ? prefix : `${prefix}:${tenantId}`;
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

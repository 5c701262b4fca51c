/**
 * The SQL side of MikroORM that the row strategy and its users touch, described structurally so that the
 * same types hold on MikroORM 6 (`@mikro-orm/knex`) and 7 (`@mikro-orm/sql`); the classes themselves are
 * made per major (`mikro-orm-6/`, `mikro-orm-7/`).
 * @module
 */
import type { Connection, EntityManager, EntityName } from '@mikro-orm/core';

/**
 * A row tenancy's EntityManager: MikroORM's `SqlEntityManager` of the installed major (or the app's subclass
 * of it). For the full QueryBuilder typings cast it to `SqlEntityManager` from `@mikro-orm/knex` (6) or
 * `@mikro-orm/sql` (7).
 */
export interface SqlEntityManager extends EntityManager {
  /** MikroORM's QueryBuilder on `entityName`, limited to the EntityManager's tenant. */
  createQueryBuilder(entityName: EntityName<any>, alias?: string, type?: 'read' | 'write', loggerContext?: Record<string, unknown>): any;
  /** Shortcut of {@link createQueryBuilder}. */
  qb(entityName: EntityName<any>, alias?: string, type?: 'read' | 'write', loggerContext?: Record<string, unknown>): any;
  /** Raw SQL, in the EntityManager's transaction if it has one (refused on tenant-owned tables unless the database enforces the tenant). */
  execute<T = any>(query: string, params?: unknown[], method?: 'all' | 'get' | 'run', loggerContext?: Record<string, unknown>): Promise<T>;
  /** MikroORM's SQL connection (the driver's handle: statements sent here are not checked by the ORM-level guard). */
  getConnection(type?: 'read' | 'write'): Connection & SqlConnection;
}

/** What the row strategy uses of MikroORM's SQL connection (the same on both majors). */
export interface SqlConnection {
  execute<T = any>(query: string, params?: unknown[], method?: 'all' | 'get' | 'run', ctx?: unknown, loggerContext?: unknown): Promise<T>;
  transactional<T>(cb: (trx: any) => Promise<T>): Promise<T>;
}

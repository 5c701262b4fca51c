import type { PgConnectionEnv } from './pg-tools.js';
import type { SchemaTenantRegistry } from '../schema-registry.js';

/** What the PostgreSQL backup and restore work with, made by `PostgresAdmin`. */
export interface PgAdminContext {
  /** A tenant's schema name. */
  schemaOf(tenantId: string): string;
  /** How client programs reach the server. */
  env(): PgConnectionEnv;
  /** The server's major version (e.g. 18). */
  serverMajor(): Promise<number>;
  /** Runs SQL on the shared connection. */
  execute<T = Record<string, unknown>[]>(sql: string, params?: unknown[]): Promise<T>;
  /** The registry (its statements are part of the restore's transaction). */
  registry: SchemaTenantRegistry;
  /** The tenant migrations' table, when tenants are migrated (the registry records the last migration). */
  migrationsTable?: string;
  /** Owner-only modes for backup folders and files. */
  modes: { dirMode: number; fileMode: number };
}

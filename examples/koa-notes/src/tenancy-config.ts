import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { SqliteTenancyConfig } from '@mikro-tenant/sqlite';
import type { PostgresTenancyConfig } from '@mikro-tenant/postgresql';
import type { RowTenancyConfig } from '@mikro-tenant/row';
import { Utils, type Options } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Note, Session, User } from './entities.js';

/** The options of the app's SQLite tenancy: shared by the app and `mikro-tenant.config.ts` (the CLI). */
export function tenancyConfig(dataDir: string, maxOpen = 100): SqliteTenancyConfig {
  const dir = resolve(dataDir);
  return {
    dbName: join(dir, 'shared.sqlite3'),
    entities: [User, Session],
    allowGlobalContext: false,
    tenancy: {
      dir: join(dir, 'tenants'),
      entities: [Note],
      tenantEntity: User,
      deleteOnTenantDelete: true,
      maxOpen,
    },
  };
}

/** The same app on PostgreSQL: users and sessions in `public`, each user's notes in the schema `tenant_<user id>`. */
export function postgresTenancyConfig(clientUrl: string, maxOpen = 1000): PostgresTenancyConfig {
  return {
    clientUrl,
    entities: [User, Session],
    allowGlobalContext: false,
    tenancy: {
      entities: [Note],
      tenantEntity: User,
      deleteOnTenantDelete: true,
      maxOpen,
    },
  };
}

/**
 * MikroORM's SQLite driver for the installed major, loaded on use: 6's `BetterSqliteDriver`
 * (`@mikro-orm/better-sqlite`), 7's `SqliteDriver` (`@mikro-orm/sqlite`); neither package exists on the other major.
 */
function sqliteDriver(): NonNullable<Options['driver']> {
  const load = createRequire(import.meta.url);
  return Number.parseInt(Utils.getORMVersion(), 10) === 6
    ? (load('@mikro-orm/better-sqlite') as { BetterSqliteDriver: NonNullable<Options['driver']> }).BetterSqliteDriver
    : (load('@mikro-orm/sqlite') as { SqliteDriver: NonNullable<Options['driver']> }).SqliteDriver;
}

/** The row strategy on SQLite: one file, every user's notes in one table with a tenant column. */
export function sqliteRowTenancyConfig(dataDir: string, maxOpen = 1000): RowTenancyConfig & { dbName: string } {
  return {
    driver: sqliteDriver(),
    dbName: join(resolve(dataDir), 'notes-row.sqlite3'),
    entities: [User, Session],
    allowGlobalContext: false,
    tenancy: { entities: [Note], tenantEntity: User, deleteOnTenantDelete: true, maxOpen },
  };
}

/** The row strategy on PostgreSQL: one `note` table for every user, row level security on. */
export function postgresRowTenancyConfig(clientUrl: string, maxOpen = 1000): RowTenancyConfig {
  return {
    driver: PostgreSqlDriver,
    clientUrl,
    entities: [User, Session],
    allowGlobalContext: false,
    tenancy: { entities: [Note], tenantEntity: User, deleteOnTenantDelete: true, maxOpen },
  };
}

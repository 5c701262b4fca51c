/**
 * One fixture for the operating features (events, quotas, statistics, telemetry) on every strategy: each
 * test runs on SQLite files and on PostgreSQL schemas, with that strategy's own migrations fixture.
 * @module
 */
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import type { AbstractTenancy, TenancyOperatingOptions } from '@mikro-tenant/core';
import { baseMigrations, brokenMigrations, twoMigrations } from '../fixtures/migrations.js';
import { pgBaseMigrations, pgBrokenMigrations, pgTwoMigrations } from '../fixtures/pg-migrations.js';
import { makeTenancy, tempDir } from '../helpers.js';
import { createTestDatabase, makePgTenancy, type TestDatabase } from '../postgres/helpers.js';

/** Which migrations list a tenancy is made with. */
export type MigrationsStage = 'none' | 'base' | 'two' | 'broken';

/** What a test on one strategy gets. */
export interface StrategyFixture {
  readonly name: 'sqlite' | 'pg-schema';
  /** Makes a tenancy over the same storage each time (a new tenancy sees the tenants of earlier ones). */
  make(options?: TenancyOperatingOptions & { maxOpen?: number; migrations?: MigrationsStage; warn?: (message: string, code: string) => void }): Promise<AbstractTenancy<EntityManager>>;
  /** Runs SQL in the database of one tenant, outside the tenancy (SQLite: its file; PostgreSQL: its schema). */
  readonly root: string;
}

const SQLITE_MIGRATIONS = { base: baseMigrations, two: twoMigrations, broken: brokenMigrations };
const PG_MIGRATIONS = { base: pgBaseMigrations, two: pgTwoMigrations, broken: pgBrokenMigrations };

/** Declares `fn`'s tests once per strategy, each test with fresh storage; every tenancy made is closed after it. */
export function forEachStrategy(title: string, fn: (fixture: () => StrategyFixture) => void): void {
  for (const name of ['sqlite', 'pg-schema'] as const) {
    describe(`${title} (${name})`, () => {
      let current: StrategyFixture | undefined;
      const made: AbstractTenancy<EntityManager>[] = [];
      let cleanup: () => Promise<void> = async () => undefined;
      beforeEach(async () => {
        if (name === 'sqlite') {
          const temp = tempDir('ops');
          cleanup = async () => temp.cleanup();
          current = {
            name, root: temp.dir,
            async make({ migrations = 'none', ...options } = {}) {
              const tenancy = await makeTenancy(temp.dir, {
                ...options, ...(migrations === 'none' ? {} : { migrations: { migrationsList: SQLITE_MIGRATIONS[migrations] } }),
              }) as unknown as AbstractTenancy<EntityManager>;
              made.push(tenancy);
              return tenancy;
            },
          };
        } else {
          const db: TestDatabase = await createTestDatabase('ops');
          cleanup = () => db.drop();
          current = {
            name, root: db.url,
            async make({ migrations = 'none', ...options } = {}) {
              const tenancy = await makePgTenancy(db, {
                ...options, ...(migrations === 'none' ? {} : { migrations: { migrationsList: PG_MIGRATIONS[migrations] } }),
              }) as unknown as AbstractTenancy<EntityManager>;
              made.push(tenancy);
              return tenancy;
            },
          };
        }
      });
      afterEach(async () => {
        for (const tenancy of made.splice(0)) {
          await tenancy.close();
        }
        await cleanup();
      });
      fn(() => current!);
    });
  }
}

/** The path of a SQLite tenant's file under a fixture's root. */
export function sqliteTenantFile(root: string, tenantId: string): string {
  return join(root, 'tenants', `tenant_${tenantId}.sqlite3`);
}

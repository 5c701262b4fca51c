/**
 * Set-up shared by the migrate-all scenarios: tenant files one migration behind, registered; the CLI's
 * config as plain JavaScript (as a built app has it, so worker processes load it without a TypeScript
 * loader); the built `mikro-tenant` bin run with plain Node; and a reset that puts every tenant file back
 * to the old schema before each run.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AnyEntity, EntitySchema } from '@mikro-orm/core';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { nowUs, type BenchContext } from './harness.js';
import { makeMigrations, migrationName, openTenancy } from './model.js';

const bin = createRequire(import.meta.url).resolve('@mikro-tenant/cli').replace(/index\.js$/, 'main.js');

/** What a migrate scenario's tenants look like. */
export interface MigrateModel {
  /** The tenant entity, for the bench's own tenancy. */
  entity: EntitySchema<AnyEntity> | unknown;
  /** The same entity as JavaScript source (`defineEntity` and `p` in scope), for the CLI's config. */
  entitySource: string;
  /** SQL of each migration; the tenants start with all but the last applied. */
  migrations: string[][];
  /** Fills the first tenant (the others are copies of it), through its EntityManager. */
  seed?: (tenancy: SqliteTenancy, tenantId: string) => Promise<void>;
}

/** Tenants ready to be migrated, and how to put them back before each run. */
export interface MigrateFixture {
  ids: string[];
  /** Path of the CLI config. */
  config: string;
  /** A tenant's database file. */
  path(id: string): string;
  /** Puts every tenant file back to the old schema (and removes its -wal/-shm). */
  reset(): void;
}

/** Builds `count` registered tenants at all but the last migration of `model`, under `ctx.dir`. */
export async function migrateFixture(ctx: BenchContext, model: MigrateModel, count: number): Promise<MigrateFixture> {
  const t0 = nowUs();
  mkdirSync(join(ctx.dir, 'tenants'), { recursive: true });
  const config = join(ctx.dir, 'mikro-tenant.config.mjs');
  writeFileSync(config, configSource(ctx.dir, model));
  const sqlOf = (i: number) => model.migrations[i]!;
  const old = await openTenancy(ctx.dir, { entities: [model.entity as never], migrations: { migrationsList: makeMigrations(model.migrations.length - 1, sqlOf) } });
  const ids = Array.from({ length: count }, (_, i) => `m${i}`);
  await old.createTenant(ids[0]!);
  await model.seed?.(old, ids[0]!);
  await old.run(ids[0]!, em => em.getConnection().execute('pragma wal_checkpoint(TRUNCATE)'));
  const oldFile = join(ctx.dir, 'old.sqlite3');
  copyFileSync(old.files.path(ids[0]!), oldFile);
  const path = (id: string) => old.files.path(id);
  for (const id of ids.slice(1)) {
    copyFileSync(oldFile, path(id));
  }
  await old.reconcile({ fix: true });
  await old.close();
  ctx.log(`${count} tenants built in ${((nowUs() - t0) / 1000).toFixed(0)} ms`);
  return {
    ids, config, path,
    reset: () => {
      for (const id of ids) {
        const file = path(id);
        rmSync(`${file}-wal`, { force: true });
        rmSync(`${file}-shm`, { force: true });
        copyFileSync(oldFile, file);
      }
    },
  };
}

/** The CLI config: the model in JavaScript, with every migration of `model`. */
function configSource(dir: string, model: MigrateModel): string {
  const core = import.meta.resolve('@mikro-orm/core');
  const migrationsModule = import.meta.resolve('@mikro-orm/migrations');
  const list = model.migrations.map((sql, i) => `{ name: ${JSON.stringify(migrationName(i))}, class: migration(${JSON.stringify(sql)}) }`);
  return `import { defineEntity, p } from ${JSON.stringify(core)};
import { Migration } from ${JSON.stringify(migrationsModule)};
const Entity = ${model.entitySource};
function migration(sql) {
  return class extends Migration { async up() { for (const s of sql) this.addSql(s); } };
}
export default {
  dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))}, entities: [], debug: false, allowGlobalContext: false,
  discovery: { warnWhenNoEntities: false },
  tenancy: { dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Entity], migrations: { migrationsList: [${list.join(', ')}] }, warn: () => {} },
};
`;
}

/** What `mikro-tenant migrate --json` printed, and the wall-clock time of the whole command. */
export interface MigrateRun {
  durationMs: number;
  wallMs: number;
  workers: number;
}

/**
 * Runs `mikro-tenant migrate --json` (with `--concurrency` when given, else the CLI's default) with plain
 * Node, as users run the built bin; checks every tenant was migrated.
 */
export async function runMigrate(fixture: MigrateFixture, concurrency?: number): Promise<MigrateRun> {
  const args = ['migrate', '--config', fixture.config, '--json', ...(concurrency ? ['--concurrency', String(concurrency)] : [])];
  const t0 = nowUs();
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    proc.stdout.on('data', chunk => { out += String(chunk); });
    proc.on('error', reject);
    proc.on('exit', exitCode => resolve({ code: exitCode, stdout: out }));
  });
  const wallMs = (nowUs() - t0) / 1000;
  const summary = JSON.parse(stdout) as { migrated: unknown[]; failed: unknown[]; durationMs: number; workers: number };
  if (code !== 0 || summary.migrated.length !== fixture.ids.length) {
    throw new Error(`migrate ${args.join(' ')}: exit ${code}, ${summary.migrated.length} migrated, ${summary.failed.length} failed`);
  }
  return { durationMs: summary.durationMs, wallMs, workers: summary.workers };
}

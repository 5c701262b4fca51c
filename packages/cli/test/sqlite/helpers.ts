import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlEntityManager } from '@mikro-orm/knex';
import type { CliIo } from '@mikro-tenant/cli';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from '../../../../test/fixtures/entities.js';
import { baseMigrations } from '../../../../test/fixtures/migrations.js';
import { moduleUrl } from '../../../../test/orm-packages.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));
/** The built bin, as users run it. */
export const BIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
/** The built package's entry, for scripts run in child processes. */
export const PACKAGE_ENTRY = fileURLToPath(new URL('../../../sqlite/dist/index.js', import.meta.url));
/** The repository root: `--import tsx` resolves from there. */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** A {@link CliIo} writing into strings; `answer` is what `confirm` resolves. */
export function bufferIo(options: { interactive?: boolean; answer?: boolean } = {}): CliIo & { stdout: string; stderr: string; asked: string[] } {
  const io = {
    stdout: '', stderr: '', asked: [] as string[], interactive: options.interactive ?? false,
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    async confirm(question: string) {
      io.asked.push(question);
      return options.answer ?? false;
    },
  };
  return io;
}

/**
 * Writes a TypeScript config like an app's (the options of SqliteTenancy.init, with the test fixtures),
 * for in-process runs: mocha runs with tsx, so the CLI and its worker threads can import it.
 */
export function writeTsConfig(dir: string, migrations: 'baseMigrations' | 'twoMigrations', name = 'mikro-tenant.config.ts'): string {
  const path = join(dir, name);
  writeFileSync(path, `import { Note, Tag, User } from ${JSON.stringify(join(FIXTURES, 'entities.ts'))};
import { ${migrations} } from ${JSON.stringify(join(FIXTURES, 'migrations.ts'))};
export default {
  dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))},
  entities: [User],
  tenancy: { dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Note, Tag], migrations: { migrationsList: ${migrations} }, warn: () => undefined },
};
`);
  return path;
}

/**
 * Writes a plain JavaScript config (runs without tsx): an inline `Item` entity and migrations M001 (table)
 * and, with `migrations: 2`, M002 (adds a column; calls process.exit(7) in a tenant holding a `crash_here` table).
 * The default export is an async function, as configs may have.
 */
export function writeMjsConfig(dir: string, migrations: 1 | 2, name = 'mikro-tenant.config.mjs'): string {
  const path = join(dir, name);
  writeFileSync(path, `import { defineEntity, p } from ${JSON.stringify(moduleUrl('@mikro-orm/core'))};
import { Migration } from ${JSON.stringify(moduleUrl('@mikro-orm/migrations'))};
export const Item = defineEntity({ name: 'Item', properties: { id: p.integer().primary().autoincrement(), label: p.string() } });
class M001 extends Migration {
  async up() { this.addSql('create table \`item\` (\`id\` integer not null primary key autoincrement, \`label\` text not null);'); }
}
class M002 extends Migration {
  async up() {
    if ((await this.execute("select name from sqlite_master where name = 'crash_here'")).length) {
      process.exit(7);
    }
    this.addSql('alter table \`item\` add column \`color\` text null;');
  }
}
export default async () => ({
  dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))},
  entities: [],
  discovery: { warnWhenNoEntities: false },
  tenancy: {
    dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Item], warn: () => undefined,
    migrations: { migrationsList: [{ name: 'M001', class: M001 }, { name: 'M002', class: M002 }].slice(0, ${migrations}) },
  },
});
`);
  return path;
}

/** A tenancy over the fixtures, like the app's (for setting up and inspecting). */
export function fixtureTenancy(dir: string, migrations = baseMigrations): Promise<SqliteTenancy<SqlEntityManager>> {
  return SqliteTenancy.init<SqlEntityManager>({
    dbName: join(dir, 'shared.sqlite3'), entities: [User], debug: false,
    tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], migrations: { migrationsList: migrations }, warn: () => undefined },
  });
}

/**
 * NODE_OPTIONS of a child process: `extra` only (not this process's `--import tsx`), plus the MikroORM 7
 * run's resolve hook when the suite runs on 7 (`npm run test:mikro-orm-7` sets MIKRO_ORM_7_NODE_OPTIONS).
 */
function childNodeOptions(extra = ''): string {
  return [process.env.MIKRO_ORM_7_NODE_OPTIONS, extra].filter(Boolean).join(' ');
}

/** Runs the built bin in a child process; never rejects. */
export function runBin(args: string[], options: { cwd?: string; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, [...options.nodeArgs ?? [], BIN, ...args], {
      cwd: options.cwd ?? REPO, env: { ...process.env, ...options.env, NODE_OPTIONS: childNodeOptions(options.env?.NODE_OPTIONS) },
    }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** SHA-256 of every database file in a folder (not -wal/-shm), by name: proves a command wrote nothing. */
export function hashDatabases(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const name of readdirSync(dir).filter(n => n.endsWith('.sqlite3')).sort()) {
    hashes[name] = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
  }
  return hashes;
}

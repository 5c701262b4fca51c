import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { moduleUrl } from '../../orm-packages.js';

/** The built bin, as users run it. */
export const BIN = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));
/** The built PostgreSQL package, for scripts run by `exec`. */
export const PG_ENTRY = fileURLToPath(new URL('../../../packages/postgresql/dist/index.js', import.meta.url));

/** What a run of the bin gave. */
export interface BinResult { code: number; stdout: string; stderr: string }

/** Runs the built bin in a child process (plain node, no tsx); never rejects. */
export function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return new Promise(resolve => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env, NODE_OPTIONS: [process.env.MIKRO_ORM_7_NODE_OPTIONS, env?.NODE_OPTIONS].filter(Boolean).join(' ') } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs several bin invocations, a few at a time (each loads Node and MikroORM). */
export async function runBins(runs: { args: string[]; env?: NodeJS.ProcessEnv }[], cwd: string, lanes = 4): Promise<BinResult[]> {
  const results: BinResult[] = new Array(runs.length);
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let i = next++; i < runs.length; i = next++) {
      results[i] = await runBin(runs[i]!.args, cwd, runs[i]!.env);
    }
  }));
  return results;
}

/**
 * Writes `mikro-tenant.config.mjs` for the schema strategy (plain JavaScript: runs without tsx): an inline
 * `Item` entity per tenant, migrations M001 (table) and, with `migrations: 2`, M002 (adds a column).
 */
export function writePgConfig(dir: string, url: string, migrations: 1 | 2): string {
  const path = join(dir, 'mikro-tenant.config.mjs');
  writeFileSync(path, `import { defineEntity, p } from ${JSON.stringify(moduleUrl('@mikro-orm/core'))};
import { Migration } from ${JSON.stringify(moduleUrl('@mikro-orm/migrations'))};
export const Item = defineEntity({ name: 'Item', properties: { id: p.integer().primary().autoincrement(), label: p.string() } });
class M001 extends Migration {
  async up() { this.addSql('create table "item" ("id" serial primary key, "label" varchar(255) not null);'); }
}
class M002 extends Migration {
  async up() { this.addSql('alter table "item" add column "color" varchar(20) null;'); }
}
export default async () => ({
  strategy: 'pg-schema',
  clientUrl: ${JSON.stringify(url)},
  entities: [],
  discovery: { warnWhenNoEntities: false },
  tenancy: { entities: [Item], warn: () => undefined, migrations: { migrationsList: [{ name: 'M001', class: M001 }, { name: 'M002', class: M002 }].slice(0, ${migrations}) } },
});
`);
  return path;
}

/** A tenancy in this process from the config {@link writePgConfig} wrote (to set up and inspect), and its `Item`. */
export async function configTenancy(dir: string): Promise<{ tenancy: PostgresSchemaTenancy; Item: unknown }> {
  // require(), as this file is loaded: an import() from here would load the config's MikroORM as a second copy
  // under tsx (MikroORM 7's instanceof checks then fail). Dropped from the cache first: a test may rewrite it.
  const path = join(dir, 'mikro-tenant.config.mjs');
  const require = createRequire(import.meta.url);
  delete require.cache[path];
  const module = require(path) as { default: () => Promise<Record<string, unknown>>; Item: unknown };
  const { strategy: _, ...config } = await module.default();
  return { tenancy: await PostgresSchemaTenancy.init(config as never), Item: module.Item };
}


/** One line on stderr, `mikro-tenant: <message> (<code>)`. */
export const oneLine = (code: string): RegExp => new RegExp(`^mikro-tenant: [^\\n]+ \\(${code}\\)\\n$`);

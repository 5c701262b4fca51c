/**
 * Child process of the PostgreSQL reliability tests. argv: <database url> <barrier dir> <mode> <ids comma-separated> [arg]
 * - access <ids> <perId>: waits for <barrier dir>/go, then `perId` concurrent runs per id; prints { ok, errors, stats }.
 * - provision <ids>: provisions the first id, prints "ready", then provisions the rest one by one (to be
 *   killed), with a slow migration. Ready only after one whole tenant, so a loaded machine cannot make the
 *   parent kill every child before any schema exists.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { Note, Tag, User } from '../fixtures/entities.js';
import { pgSlowMigrations, pgTwoMigrations } from '../fixtures/pg-migrations.js';

const [url, barrier, mode, idList, arg] = process.argv.slice(2) as [string, string, string, string, string];
const ids = idList.split(',');
const tenancy = await PostgresSchemaTenancy.init({
  clientUrl: url,
  entities: [User],
  debug: false,
  pool: { min: 0, max: 4 },
  tenancy: { entities: [Note, Tag], migrations: { migrationsList: mode === 'provision' ? pgSlowMigrations : pgTwoMigrations }, warn: () => undefined },
});

if (mode === 'access') {
  process.stdout.write('ready\n');
  while (!existsSync(join(barrier, 'go'))) {
    await new Promise(resolve => setTimeout(resolve, 1));
  }
  let ok = 0;
  const errors: string[] = [];
  await Promise.all(ids.flatMap(id => Array.from({ length: Number(arg) }, async () => {
    try {
      await tenancy.run(id, async em => em.count(Note, {}));
      ok++;
    } catch (error) {
      errors.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
    }
  })));
  process.stdout.write(`${JSON.stringify({ ok, errors, stats: tenancy.stats() })}\n`);
} else {
  await tenancy.run(ids[0]!, async em => em.count(Note, {}));
  process.stdout.write('ready\n');
  for (const id of ids.slice(1)) {
    await tenancy.run(id, async em => em.count(Note, {}));
  }
  process.stdout.write('done\n');
}
await tenancy.close();

/**
 * Child process of the reliability suite. argv: <root> <mode> <ids comma-separated> [arg]
 * - access <ids> <perId>: `perId` concurrent runs per id; prints { ok, errors, stats }.
 * - provision <ids> <template|migrate>: prints "ready", then provisions the ids one by one (to be killed).
 * - shared-writes <prefix> <tenants>,<shared>[,<window>]: seeds, prints "ready", then on "go" runs a burst of
 *   concurrent shared writes (see test/shared-write-helpers.ts); prints its figures.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from '../fixtures/entities.js';
import { twoMigrations } from '../fixtures/migrations.js';
import { makeAccountsTenancy, seedAccounts, sharedWriteBurst } from '../shared-write-helpers.js';

const [root, mode, idList, arg] = process.argv.slice(2) as [string, string, string, string];
const ids = idList.split(',');

/** Waits for the parent to create <root>/go, so that every child starts at once. */
async function barrier(): Promise<void> {
  process.stdout.write('ready\n');
  while (!existsSync(join(root, 'go'))) {
    await new Promise(resolve => setTimeout(resolve, 1));
  }
}

if (mode === 'shared-writes') {
  const [tenants, shared, window] = arg.split(',').map(Number) as [number, number, number | undefined];
  const accounts = await makeAccountsTenancy(root, { maxOpen: tenants + 1 });
  await seedAccounts(accounts, tenants, shared, idList);
  await barrier();
  const figures = await sharedWriteBurst(accounts, tenants, shared, idList, { window });
  await accounts.close();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
  process.exit(0);
}
const tenancy = await SqliteTenancy.init({
  dbName: join(root, 'shared.sqlite3'),
  entities: [User],
  tenancy: {
    dir: join(root, 'tenants'),
    entities: [Note, Tag],
    migrations: { migrationsList: twoMigrations },
    template: !(mode === 'provision' && arg === 'migrate'),
  },
});

if (mode === 'access') {
  await barrier();
  let ok = 0;
  const errors: string[] = [];
  await Promise.all(ids.flatMap(id => Array.from({ length: Number(arg) }, async () => {
    try {
      await tenancy.run(id, async em => em.count(Note, {}));
      ok++;
    } catch (error) {
      errors.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
      if (process.env.RACE_DEBUG && errors.length === 1) {
        process.stderr.write(`${String(((error as Error).cause as Error)?.stack)}\n`);
      }
    }
  })));
  process.stdout.write(`${JSON.stringify({ ok, errors, stats: tenancy.stats() })}\n`);
} else {
  if (arg !== 'migrate') {
    // Rebuild the template now and then, so kills also land inside template builds.
    if (Math.random() < 0.5) {
      await tenancy.clearTemplate();
    }
  }
  process.stdout.write('ready\n');
  for (const id of ids) {
    await tenancy.run(id, async em => em.count(Note, {}));
  }
  process.stdout.write('done\n');
}
await tenancy.close();

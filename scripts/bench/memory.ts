/**
 * Scenario 6: memory per open idle tenant, with 1,000 open (`maxOpen` 1000). Each side runs in a fresh
 * process (RSS never shrinks back reliably, so sides must not share one): `ours` opens 1,000 tenants
 * through the tenancy (`run(id, em => em.count(...))`), `raw` opens the same 1,000 files with
 * better-sqlite3, the same pragmas and the same count. The difference per tenant is what this library,
 * MikroORM and knex keep beyond SQLite's own connection and page cache.
 */
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pragmaStatements } from '@mikro-tenant/sqlite';
import { MiB, entry, gc, median, type Scenario } from './harness.js';
import { makeNote, openTenancy, seedTenantFiles } from './model.js';

type Side = 'ours' | 'raw';
interface Usage { rss: number; heap: number; external: number }

async function usage(): Promise<Usage> {
  await gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

/** Child side: opens `count` tenants of `dir` and prints the memory delta per tenant as JSON. */
async function measure(side: Side, dir: string, count: number): Promise<void> {
  const Note = makeNote();
  const tenancy = await openTenancy(dir, { entities: [Note], maxOpen: count + 10 });
  const ids = Array.from({ length: count }, (_, i) => `t${i + 1}`);
  const table = 'note';
  const pragmas = pragmaStatements().map(s => s.slice('pragma '.length));
  const handles: Database.Database[] = [];
  const openRaw = (id: string) => {
    const db = new Database(tenancy.files.path(id), { fileMustExist: true });
    pragmas.forEach(p => db.pragma(p));
    db.prepare(`select count(*) as count from \`${table}\``).get();
    handles.push(db);
  };
  // Load and warm every code path before the baseline: one tenant opened each way (not counted).
  await tenancy.run('t0', em => em.count(Note));
  openRaw('t0');
  const before = await usage();
  for (const id of ids) {
    if (side === 'ours') {
      await tenancy.run(id, em => em.count(Note));
    } else {
      openRaw(id);
    }
  }
  const after = await usage();
  process.stdout.write(`${JSON.stringify({
    rss: (after.rss - before.rss) / count, heap: (after.heap - before.heap) / count, external: (after.external - before.external) / count,
    open: tenancy.openTenants, handles: handles.length,
  })}\n`);
  handles.forEach(db => db.close());
  await tenancy.close();
}

function runSide(side: Side, dir: string, count: number): Promise<Usage> {
  const args = [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), '--side', side, '--dir', dir, '--count', String(count)];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', chunk => { out += String(chunk); });
    proc.on('exit', code => code === 0 ? resolve(JSON.parse(out) as Usage) : reject(new Error(`memory ${side} exited with ${code}`)));
  });
}

const scenario: Scenario = {
  name: 'memory',
  title: 'RSS and heap per open idle tenant, 1,000 open',
  async run(ctx) {
    const rounds = ctx.quick ? 1 : 3;
    const count = ctx.quick ? 100 : 1000;
    const Note = makeNote();
    const tenancy = await openTenancy(ctx.dir, { entities: [Note], maxOpen: 10 });
    await seedTenantFiles(tenancy, 1, async em => {
      em.create(Note, { title: 'a note', body: 'text', done: false, createdAt: new Date() });
      await em.flush();
    });
    await tenancy.close();
    for (let i = 1; i <= count; i++) {
      copyFileSync(join(ctx.dir, 'tenants', 'tenant_t0.sqlite3'), join(ctx.dir, 'tenants', `tenant_t${i}.sqlite3`));
    }
    const ours: Usage[] = [];
    const raw: Usage[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const side of (round % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours']) as Side[]) {
        (side === 'ours' ? ours : raw).push(await runSide(side, ctx.dir, count));
      }
      ctx.log(`round ${round + 1}: ours ${(ours.at(-1)!.rss / 1024).toFixed(1)} KiB RSS/tenant, raw ${(raw.at(-1)!.rss / 1024).toFixed(1)} KiB RSS/handle`);
    }
    const beyond = ours.map((o, i) => (o.rss - raw[i]!.rss) / MiB);
    const KiB = (values: number[]) => median(values) / 1024;
    return [
      entry({
        scenario: 'memory', name: 'RSS per open idle tenant beyond SQLite (1,000 open), MiB', baseline: 'budget of 1 MiB per tenant',
        ratio: median(beyond), goal: { op: '<=', value: 1 }, rounds,
        medians: {
          'ours RSS KiB/tenant': KiB(ours.map(u => u.rss)), 'raw better-sqlite3 RSS KiB/handle': KiB(raw.map(u => u.rss)),
          'ours heap KiB/tenant': KiB(ours.map(u => u.heap)), 'raw heap KiB/handle': KiB(raw.map(u => u.heap)),
        },
        detail: {
          tenants: count,
          oursExternalKiB: KiB(ours.map(u => u.external)),
          remaining: `${(median(beyond) - 1).toFixed(3)} MiB per open tenant beyond the budget, kept by MikroORM and knex per connection`,
          note: 'ratio = (RSS delta per tenant through the tenancy - RSS delta per raw better-sqlite3 handle with the same pragmas and query) in MiB; '
            + 'each side measured in its own process after a full GC; SQLite page cache is the default cache_size -2000 (2 MB cap, filled lazily: a few pages here)',
        },
      }),
    ];
  },
};

export default scenario;

if (process.argv.includes('--side')) {
  const arg = (name: string) => process.argv[process.argv.indexOf(name) + 1]!;
  await measure(arg('--side') as Side, arg('--dir'), Number(arg('--count')));
}

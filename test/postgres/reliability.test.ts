import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Note } from '../fixtures/entities.js';
import { pgSlowMigrations } from '../fixtures/pg-migrations.js';
import { lastJson, report, size, type Child } from '../reliability/support.js';
import { createTestDatabase, makePgTenancy, type TestDatabase } from './helpers.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function startPgChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>(resolve => { markReady = resolve; });
  child.stdout.on('data', chunk => {
    stdout += chunk;
    if (stdout.includes('ready')) {
      markReady();
    }
  });
  child.stderr.on('data', chunk => { stderr += chunk; });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(resolve => {
    child.on('exit', (code, signal) => { markReady(); resolve({ code, signal, stdout, stderr }); });
  });
  return { ready, done, kill: () => child.kill('SIGKILL') };
}

interface AccessResult {
  ok: number;
  errors: string[];
  stats: { provisioned: number; provisionRaces: number };
}

describe('postgres reliability: several processes', function () {
  this.timeout(size(120_000, 900_000));
  let db: TestDatabase;
  let barrier: string;

  beforeEach(async () => {
    db = await createTestDatabase('rel');
    barrier = mkdtempSync(join(tmpdir(), 'mt-pg-barrier-'));
  });

  afterEach(async () => {
    await db.drop();
    rmSync(barrier, { recursive: true, force: true });
  });

  it('concurrent first access to the same tenants from several processes creates each schema exactly once', async () => {
    const setup = await makePgTenancy(db);
    await setup.close();
    const ids = Array.from({ length: size(12, 60) }, (_, i) => `race${i}`);
    const processes = size(4, 8);
    const perId = 3;
    const children = Array.from({ length: processes }, () => startPgChild([db.url, barrier, 'access', ids.join(','), String(perId)]));
    await Promise.all(children.map(child => child.ready));
    writeFileSync(join(barrier, 'go'), '');
    const results = await Promise.all(children.map(async child => {
      const result = await child.done;
      expect(result.code, result.stderr).to.equal(0);
      return lastJson<AccessResult>(result.stdout);
    }));
    const provisioned = results.reduce((sum, r) => sum + r.stats.provisioned, 0);
    const races = results.reduce((sum, r) => sum + r.stats.provisionRaces, 0);
    report('pg concurrent first access', { processes, tenants: ids.length, runs: processes * ids.length * perId, provisioned, races });
    expect(results.flatMap(r => r.errors)).to.deep.equal([]);
    expect(results.reduce((sum, r) => sum + r.ok, 0)).to.equal(processes * ids.length * perId);
    expect(provisioned).to.equal(ids.length);
    const schemas = await db.query("select count(*)::int as n from pg_namespace where nspname like 'tenant\\_race%'");
    expect(schemas).to.deep.equal([{ n: ids.length }]);
    const rows = await db.query('select count(*)::int as n from mikro_tenant_registry');
    expect(rows).to.deep.equal([{ n: ids.length }]);
  });

  it('a process SIGKILLed while provisioning leaves each tenant either absent or whole, and the next access succeeds', async () => {
    const setup = await makePgTenancy(db, { migrations: { migrationsList: pgSlowMigrations } });
    await setup.close();
    const ids = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const children = size(4, 30);
    for (let start = 0; start < children; start += 2) {
      await Promise.all([0, 1].map(async () => {
        const offset = Math.floor(Math.random() * ids.length);
        const child = startPgChild([db.url, barrier, 'provision', [...ids.slice(offset), ...ids.slice(0, offset)].join(',')]);
        await child.ready;
        await new Promise(resolve => setTimeout(resolve, 50 + Math.random() * 400));
        child.kill();
        const result = await child.done;
        expect(result.signal === 'SIGKILL' || result.code === 0, result.stderr).to.equal(true);
      }));
    }
    const names = (await db.query<{ nspname: string }>("select nspname from pg_namespace where nspname like 'tenant\\_k%'")).map(r => r.nspname);
    const expected = pgSlowMigrations.map(m => m.name);
    const broken: string[] = [];
    for (const schema of names) {
      const migrations = (await db.query<{ name: string }>(`select name from "${schema}".mikro_orm_migrations order by id`)).map(r => r.name);
      const columns = (await db.query<{ column_name: string }>(
        "select column_name from information_schema.columns where table_schema = $1 and table_name = 'tag'", [schema])).map(r => r.column_name);
      const registered = await db.query('select 1 from mikro_tenant_registry where location = $1', [schema]);
      if (JSON.stringify(migrations) !== JSON.stringify(expected) || !columns.includes('color') || registered.length !== 1) {
        broken.push(schema);
      }
    }
    const orphanRows = await db.query("select tenant_id from mikro_tenant_registry where location not in (select nspname from pg_namespace)");
    const scratch = await db.query("select nspname from pg_namespace where nspname like 'mikro\\_tenant\\_%'");
    report('pg kill during provisioning', { children, schemas: names.length, halfBuilt: broken.length, orphanRows: orphanRows.length, scratch: scratch.length });
    expect(broken).to.deep.equal([]);
    expect(orphanRows).to.deep.equal([]);
    expect(scratch).to.deep.equal([]);
    expect(names.length).to.be.greaterThan(0);

    const next = await makePgTenancy(db, { migrations: { migrationsList: pgSlowMigrations } });
    try {
      for (const id of ids.slice(0, Math.min(ids.length, names.length + 10))) {
        expect(await next.run(id, em => em.count(Note, {})), id).to.equal(0);
        expect(await next.pendingMigrations(id), id).to.deep.equal([]);
      }
    } finally {
      await next.close();
    }
  });
});

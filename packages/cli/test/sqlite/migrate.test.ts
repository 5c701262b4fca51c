import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { TenancyEvent, TenantMigrationFailedEvent } from '@mikro-tenant/core';
import { runCli } from '@mikro-tenant/cli';
import { twoMigrations } from '../../../../test/fixtures/migrations.js';
import { tempDir } from '../../../../test/helpers.js';
import { bufferIo, fixtureTenancy, hashDatabases, writeMjsConfig, writeTsConfig } from './helpers.js';

interface Summary {
  migrated: { tenantId: string; executed: string[] }[];
  failed: { tenantId: string; error: string; code: string }[];
  upToDate: number;
  workers: number;
  durationMs: number;
  template: string | null;
}
interface Check { checked: number; pending: { tenantId: string; pending: string[] }[]; missing: string[]; errors: unknown[] }

function schemaOf(file: string): { migrations: string[]; objects: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    return {
      migrations: (db.prepare('select name from mikro_orm_migrations order by id').all() as { name: string }[]).map(r => r.name),
      objects: (db.prepare('select type, name, sql from sqlite_master order by name').all() as { type: string; name: string; sql: string }[])
        .map(r => `${r.type} ${r.name} ${r.sql}`),
    };
  } finally {
    db.close();
  }
}

describe('mikro-tenant migrate', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-migrate'));
  });

  afterEach(() => cleanup());

  it('migrates 200 tenants in 2 worker threads; the one that fails is rolled back and reported with exit 1', async () => {
    const setup = await fixtureTenancy(dir);
    const ids = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const id of ids) {
      await setup.createTenant(id);
    }
    // Sabotage one tenant: the index the new migration creates is already there, so the migration fails for it only.
    await setup.run('m042', em => em.execute('create index `note_author_id_index` on `note` (`author_id`)'));
    await setup.close();
    const sabotaged = join(dir, 'tenants', 'tenant_m042.sqlite3');
    const schemaBefore = schemaOf(sabotaged);
    writeTsConfig(dir, 'twoMigrations');

    const before = bufferIo();
    expect(await runCli(['migrate', '--check', '--json'], before, dir), before.stderr).to.equal(1);
    const drift = JSON.parse(before.stdout) as Check;
    expect(drift.checked).to.equal(200);
    expect(drift.pending.map(p => p.tenantId)).to.deep.equal(ids);
    expect(drift.pending[0]!.pending).to.deep.equal(['Migration002NoteIndex']);

    const io = bufferIo();
    const code = await runCli(['migrate', '--concurrency', '2', '--json'], io, dir);
    expect(io.stdout, io.stderr).to.match(/^\{.*\}\n$/);
    const summary = JSON.parse(io.stdout) as Summary;
    process.stdout.write(`      [cli] 200 tenants migrated by 2 worker threads in ${summary.durationMs} ms\n`);
    expect(code).to.equal(1);
    expect(summary.workers).to.equal(2);
    expect(summary.failed).to.have.length(1);
    expect(summary.failed[0]).to.include({ tenantId: 'm042', code: 'ERR_TENANT_MIGRATION_FAILED' });
    expect(summary.failed[0]!.error).to.include('rolled back');
    expect(summary.migrated.map(m => m.tenantId).sort()).to.deep.equal(ids.filter(id => id !== 'm042'));
    expect(summary.migrated.every(m => m.executed.join() === 'Migration002NoteIndex')).to.equal(true);
    expect(summary.upToDate).to.equal(0);
    expect(summary.template).to.match(/template-[0-9a-f]+\.sqlite3$/);
    // The same shapes as the tenancy's events: one per tenant migrated or failed.
    const events = (summary as unknown as { events: TenancyEvent[] }).events;
    expect(events.filter(e => e.type === 'tenantMigrated')).to.have.length(199);
    expect(events.find(e => e.tenantId === 'm001')).to.deep.include({
      type: 'tenantMigrated', from: 'Migration001Notes', to: 'Migration002NoteIndex', executed: ['Migration002NoteIndex'],
    });
    const failedEvent = events.find(e => e.type === 'tenantMigrationFailed') as TenantMigrationFailedEvent;
    expect(failedEvent).to.deep.include({ tenantId: 'm042', from: 'Migration001Notes' });
    expect(failedEvent.error.code).to.equal('ERR_TENANT_MIGRATION_FAILED');
    expect(events.every(e => typeof e.at === 'string' && (e as { durationMs: number }).durationMs >= 0)).to.equal(true);
    // Without a terminal: one plain progress line per tenant on stderr, nothing else.
    const lines = io.stderr.trim().split('\n');
    expect(lines).to.have.length(200);
    expect(lines.filter(l => /^\[\d+\/200\] m\d{3}: (migrated|failed)/.test(l))).to.have.length(200);

    // The failed tenant was rolled back as a whole: same schema as before, its migration still pending.
    expect(schemaOf(sabotaged)).to.deep.equal(schemaBefore);
    const after = bufferIo();
    expect(await runCli(['migrate', '--check', '--json'], after, dir)).to.equal(1);
    expect((JSON.parse(after.stdout) as Check).pending).to.deep.equal([{ tenantId: 'm042', pending: ['Migration002NoteIndex'] }]);
    const check = await fixtureTenancy(dir, twoMigrations);
    const versions = new Map((await check.registry.list()).map(r => [r.tenantId, r.schemaVersion]));
    expect(versions.get('m042')).to.equal('Migration001Notes');
    expect(ids.filter(id => versions.get(id) === 'Migration002NoteIndex')).to.have.length(199);

    // Repaired, that tenant alone migrates; then no drift is left.
    await check.run('m042', em => em.execute('drop index `note_author_id_index`'));
    await check.close();
    const one = bufferIo();
    expect(await runCli(['migrate', '--tenant', 'm042', '--json'], one, dir), one.stderr).to.equal(0);
    expect((JSON.parse(one.stdout) as Summary)).to.deep.include({ workers: 0, failed: [], migrated: [{ tenantId: 'm042', executed: ['Migration002NoteIndex'] }] });
    const clean = bufferIo();
    expect(await runCli(['migrate', '--check'], clean, dir)).to.equal(0);
    expect(clean.stdout).to.equal('all 200 tenants are up to date\n');
  });

  it('fails only the tenant whose worker dies, reports registered tenants without a file, reaches files without a row; --check writes nothing', async () => {
    writeMjsConfig(dir, 1);
    const ids = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`);
        const setup = bufferIo();
    for (const id of ['crash', ...ids, 'gone']) {
      expect(await runCli(['create', id], setup, dir), setup.stderr).to.equal(0);
    }
    const crashFile = join(dir, 'tenants', 'tenant_crash.sqlite3');
    const marker = new Database(crashFile);
    marker.exec('create table crash_here (x)');
    marker.close();
    rmSync(join(dir, 'tenants', 'tenant_gone.sqlite3'));
    // A tenant file without its registry row (its process died before writing it) is checked and migrated too.
    const shared = new Database(join(dir, 'shared.sqlite3'));
    expect(shared.prepare('delete from mikro_tenant_registry where tenant_id = ?').run('t11').changes).to.equal(1);
    shared.close();
    writeMjsConfig(dir, 2);

    const hashes = hashDatabases(join(dir, 'tenants'));
    const check = bufferIo();
    expect(await runCli(['migrate', '--check', '--json'], check, dir)).to.equal(1);
    const report = JSON.parse(check.stdout) as Check;
    expect(report).to.deep.include({ checked: 14, missing: ['gone'], errors: [] });
    expect(report.pending.map(p => p.tenantId)).to.deep.equal(['crash', ...ids]);
    expect(hashDatabases(join(dir, 'tenants')), 'no tenant file changed or appeared').to.deep.equal(hashes);

    const io = bufferIo();
    expect(await runCli(['migrate', '--concurrency', '2', '--json'], io, dir)).to.equal(1);
    const summary = JSON.parse(io.stdout) as Summary;
    expect(summary.failed.map(f => [f.tenantId, f.code]).sort()).to.deep.equal([
      ['crash', 'ERR_WORKER_FAILED'], ['gone', 'ERR_TENANT_FILE_MISSING'],
    ]);
    expect(summary.migrated.map(m => m.tenantId).sort()).to.deep.equal(ids);
    expect(summary.workers, 'a new worker replaced the one that died').to.equal(3);
    expect(schemaOf(crashFile).migrations).to.deep.equal(['M001']);
    expect(hashDatabases(join(dir, 'tenants'))).to.not.have.property('tenant_gone.sqlite3');
  });
});

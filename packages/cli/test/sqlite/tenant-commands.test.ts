import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import { Tag } from '../../../../test/fixtures/entities.js';
import { tempDir } from '../../../../test/helpers.js';
import { bufferIo, fixtureTenancy, writeTsConfig } from './helpers.js';

interface Row { tenantId: string; sizeBytes: number | null; modifiedAt: string | null; schemaVersion: string | null; pendingMigrations: number | null }

describe('mikro-tenant list, reconcile, create, delete, template', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-tenants'));
  });

  afterEach(() => cleanup());

  it('lists tenants with size, modification time and pending migrations (--json), and a missing file as such', async () => {
    writeTsConfig(dir, 'baseMigrations');
    const app = await fixtureTenancy(dir);
    await app.run('b', async em => { em.create(Tag, { label: 'x' }); await em.flush(); });
    await app.createTenant('a');
    await app.createTenant('gone');
    await app.close();
    rmSync(join(dir, 'tenants', 'tenant_gone.sqlite3'));
    writeTsConfig(dir, 'twoMigrations');

    const io = bufferIo();
    expect(await runCli(['list', '--json'], io, dir), io.stderr).to.equal(0);
    const rows = (JSON.parse(io.stdout) as { tenants: Row[] }).tenants;
    expect(rows.map(r => [r.tenantId, r.pendingMigrations, r.schemaVersion])).to.deep.equal([
      ['a', 1, 'Migration001Notes'], ['b', 1, 'Migration001Notes'], ['gone', null, 'Migration001Notes'],
    ]);
    expect(rows[0]!.sizeBytes).to.be.greaterThan(4096);
    expect(Date.now() - Date.parse(rows[1]!.modifiedAt!)).to.be.within(0, 60_000);
    expect(rows[2]).to.include({ sizeBytes: null, modifiedAt: null });
    expect(existsSync(join(dir, 'tenants', 'tenant_gone.sqlite3')), 'list never creates a tenant').to.equal(false);

    const table = bufferIo();
    expect(await runCli(['list'], table, dir)).to.equal(0);
    expect(table.stdout).to.match(/^tenant +bytes +modified +pending\na +\d+ +\d{4}-\d\d-\d\dT[^ ]+ +1\n/);
    expect(table.stdout).to.match(/\ngone +missing +- +-\n3 tenants\n$/);
  });

  it('creates (never over an existing tenant) and deletes with -wal/-shm, asking first or needing --yes', async () => {
    writeTsConfig(dir, 'baseMigrations');
    await (await fixtureTenancy(dir)).close();
    const created = bufferIo();
    expect(await runCli(['create', 'c1'], created, dir), created.stderr).to.equal(0);
    expect(created.stdout).to.equal(`created c1 (${join(dir, 'tenants', 'tenant_c1.sqlite3')})\n`);
    const twice = bufferIo();
    expect(await runCli(['create', 'c1'], twice, dir)).to.equal(1);
    expect(twice.stderr).to.match(/^mikro-tenant: .*"c1" already exists.*\(ERR_TENANT_EXISTS\)\n$/);

    const file = join(dir, 'tenants', 'tenant_c1.sqlite3');
    writeFileSync(`${file}-wal`, '');
    writeFileSync(`${file}-shm`, '');
    const refused = bufferIo();
    expect(await runCli(['delete', 'c1'], refused, dir)).to.equal(1);
    expect(refused.stderr).to.match(/^mikro-tenant: deleting tenant "c1" removes all its data; no terminal to confirm on: pass --yes \(ERR_CONFIRMATION_REQUIRED\)\n$/);
    const declined = bufferIo({ interactive: true, answer: false });
    expect(await runCli(['delete', 'c1'], declined, dir)).to.equal(1);
    expect(declined.asked).to.deep.equal(['Delete tenant "c1" and all its data?']);
    expect(existsSync(file)).to.equal(true);

    const confirmed = bufferIo({ interactive: true, answer: true });
    expect(await runCli(['delete', 'c1'], confirmed, dir)).to.equal(0);
    expect(readdirSync(join(dir, 'tenants')).filter(n => n.startsWith('tenant_c1'))).to.deep.equal([]);
    expect(await runCli(['create', 'c2'], bufferIo(), dir)).to.equal(0);
    expect(await runCli(['delete', 'c2', '--yes'], bufferIo(), dir)).to.equal(0);
    const registry = await fixtureTenancy(dir);
    expect(await registry.registry.list()).to.deep.equal([]);
    await registry.close();
    const unknown = bufferIo();
    expect(await runCli(['delete', 'c2', '--yes'], unknown, dir)).to.equal(1);
    expect(unknown.stderr).to.match(/\(ERR_TENANT_NOT_FOUND\)\n$/);
  });

  it('reconciles the registry with the folder (--json, --fix) and builds and clears the template', async () => {
    writeTsConfig(dir, 'baseMigrations');
    const app = await fixtureTenancy(dir);
    await app.createTenant('kept');
    await app.createTenant('lost');
    await app.close();
    rmSync(join(dir, 'tenants', 'tenant_lost.sqlite3'));
    writeFileSync(join(dir, 'tenants', 'tenant_stray.sqlite3'), '');

    const report = bufferIo();
    expect(await runCli(['reconcile', '--json'], report, dir)).to.equal(1);
    expect(JSON.parse(report.stdout)).to.deep.equal({ missingFiles: ['lost'], unregistered: ['stray'], fixed: false });
    expect(await runCli(['reconcile', '--fix'], bufferIo(), dir)).to.equal(0);
    const clean = bufferIo();
    expect(await runCli(['reconcile'], clean, dir)).to.equal(0);
    expect(clean.stdout).to.equal('registered without a file: none\nfiles without a registry row: none\n');

    const internal = join(dir, 'tenants', '.mikro-tenant');
    const cleared = bufferIo();
    expect(await runCli(['template', 'clear'], cleared, dir)).to.equal(0);
    expect(cleared.stdout).to.equal('removed 1 template file\n');
    expect(readdirSync(internal).filter(n => n.startsWith('template-'))).to.deep.equal([]);
    const built = bufferIo();
    expect(await runCli(['template', 'build'], built, dir)).to.equal(0);
    expect(readdirSync(internal).filter(n => n.startsWith('template-'))).to.have.length(1);
    expect(built.stdout).to.match(/^template: .*template-[0-9a-f]+\.sqlite3\n$/);
  });

  it('with no shared database yet, list and migrate report no tenants and create nothing', async () => {
    writeTsConfig(dir, 'baseMigrations');
    for (const args of [['list', '--json'], ['migrate', '--json'], ['migrate', '--check']]) {
      const io = bufferIo();
      expect(await runCli(args, io, dir), args.join(' ')).to.equal(0);
      expect(io.stderr).to.match(/^mikro-tenant: no shared database at .*shared\.sqlite3 yet, so no tenants/);
    }
    const json = bufferIo();
    await runCli(['migrate', '--json'], json, dir);
    expect(JSON.parse(json.stdout)).to.include({ upToDate: 0, workers: 0 });
    expect(readdirSync(dir)).to.deep.equal(['mikro-tenant.config.ts']);
  });
});

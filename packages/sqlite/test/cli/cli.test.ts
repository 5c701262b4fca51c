import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { SqliteTenancy, runCli, type CliIo } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from '../../../../test/fixtures/entities.js';
import { baseMigrations, twoMigrations } from '../../../../test/fixtures/migrations.js';
import { tempDir } from '../../../../test/helpers.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** Writes a config file like an app's: the options of SqliteTenancy.init. */
function writeConfig(dir: string, migrations: 'baseMigrations' | 'twoMigrations', name = 'mikro-tenant.config.ts'): string {
  const path = join(dir, name);
  writeFileSync(path, `
import { Note, Tag, User } from ${JSON.stringify(join(FIXTURES, 'entities.ts'))};
import { ${migrations} } from ${JSON.stringify(join(FIXTURES, 'migrations.ts'))};
export default {
  dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))},
  entities: [User],
  tenancy: { dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Note, Tag], migrations: { migrationsList: ${migrations} }, warn: () => undefined },
};
`);
  return path;
}

function bufferIo(interactive = false): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '', stderr: '', interactive,
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    confirm: async () => false,
  };
  return io;
}

async function tenancyOf(dir: string, migrations = baseMigrations): Promise<SqliteTenancy> {
  return SqliteTenancy.init({
    dbName: join(dir, 'shared.sqlite3'), entities: [User],
    tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], migrations: { migrationsList: migrations }, warn: () => undefined },
  });
}

describe('mikro-tenant CLI', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli'));
  });

  afterEach(() => cleanup());

  it('migrates 200 tenants in 2 worker threads; the one that fails is rolled back and reported with exit 1', async () => {
    const setup = await tenancyOf(dir);
    const ids = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    for (const id of ids) {
      await setup.createTenant(id);
    }
    // Sabotage one tenant: the index the new migration creates already exists there.
    await setup.run('m042', em => em.execute('create index `note_author_id_index` on `note` (`author_id`)'));
    await setup.close();
    writeConfig(dir, 'twoMigrations');

    const before = bufferIo();
    expect(await runCli(['migrate', '--check', '--json'], before, dir)).to.equal(1);
    const drift = JSON.parse(before.stdout) as { checked: number; pending: { tenantId: string }[] };
    expect(drift.checked).to.equal(200);
    expect(drift.pending).to.have.length(200);

    const io = bufferIo();
    const started = Date.now();
    const code = await runCli(['migrate', '--concurrency', '2', '--json'], io, dir);
    const summary = JSON.parse(io.stdout) as { migrated: { tenantId: string }[]; failed: { tenantId: string; error: string }[]; upToDate: number };
    process.stdout.write(`      [cli] migrated 200 tenants with 2 workers in ${Date.now() - started} ms\n`);
    expect(code).to.equal(1);
    expect(summary.failed.map(f => f.tenantId)).to.deep.equal(['m042']);
    expect(summary.failed[0]!.error).to.include('rolled back');
    expect(summary.migrated).to.have.length(199);
    expect(io.stderr.split('\n').filter(Boolean)).to.have.length(200); // plain progress lines without a terminal

    const after = bufferIo();
    expect(await runCli(['migrate', '--check', '--json'], after, dir)).to.equal(1);
    expect((JSON.parse(after.stdout) as { pending: { tenantId: string; pending: string[] }[] }).pending)
      .to.deep.equal([{ tenantId: 'm042', pending: ['Migration002NoteIndex'] }]);
    const failed = new Database(join(dir, 'tenants', 'tenant_m042.sqlite3'), { readonly: true });
    expect((failed.prepare('select name from mikro_orm_migrations').all() as { name: string }[]).map(r => r.name)).to.deep.equal(['Migration001Notes']);
    failed.close();

    // Repair and migrate just that tenant: no drift left.
    const repair = await tenancyOf(dir, twoMigrations);
    await repair.run('m042', em => em.execute('drop index `note_author_id_index`'));
    await repair.close();
    expect(await runCli(['migrate', '--tenant', 'm042'], bufferIo(), dir)).to.equal(0);
    const clean = bufferIo();
    expect(await runCli(['migrate', '--check'], clean, dir)).to.equal(0);
    expect(clean.stdout).to.include('all 200 tenants are up to date');
  });

  it('backs up a tenant consistently while it is being written to', async () => {
    writeConfig(dir, 'baseMigrations');
    const app = await tenancyOf(dir);
    let committed = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await app.run('busy', async em => {
          em.create(Tag, { label: `row ${committed}` });
          await em.flush();
        });
        committed++;
        await new Promise(resolve => setImmediate(resolve)); // better-sqlite3 is synchronous: let the backup run too
      }
    })();
    await new Promise(resolve => setTimeout(resolve, 100));
    const committedBefore = committed;
    const io = bufferIo();
    const code = await runCli(['backup', 'busy', '--out', join(dir, 'backups'), '--json'], io, dir);
    await new Promise(resolve => setTimeout(resolve, 50));
    writing = false;
    await writer;
    await app.close();
    expect(code, io.stderr).to.equal(0);
    const copy = new Database(join(dir, 'backups', 'tenant_busy.sqlite3'), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).to.equal('ok');
    const rows = (copy.prepare('select count(*) as n from tag').get() as { n: number }).n;
    copy.close();
    process.stdout.write(`      [cli] backup under writes: ${committedBefore} rows committed before, ${rows} in the copy, ${committed} at the end\n`);
    expect(committedBefore).to.be.greaterThan(0);
    expect(rows).to.be.at.least(committedBefore);
    expect(rows).to.be.at.most(committed);
    // a second backup does not replace the first without --force
    const again = bufferIo();
    expect(await runCli(['backup', 'busy', '--out', join(dir, 'backups')], again, dir)).to.equal(1);
    expect(again.stderr).to.include('ERR_BACKUP_EXISTS');
  });

  it('restores a backup, refusing to replace an existing tenant without --force', async () => {
    writeConfig(dir, 'baseMigrations');
    const app = await tenancyOf(dir);
    await app.run('src', async em => {
      em.create(Tag, { label: 'from backup' });
      await em.flush();
    });
    await app.run('taken', async () => undefined);
    await app.close();
    expect(await runCli(['backup', 'src', '--out', join(dir, 'b')], bufferIo(), dir)).to.equal(0);
    const file = join(dir, 'b', 'tenant_src.sqlite3');

    const refused = bufferIo();
    expect(await runCli(['restore', 'taken', file], refused, dir)).to.equal(1);
    expect(refused.stderr.trim().split('\n')).to.have.length(1);
    expect(refused.stderr).to.include('ERR_TENANT_EXISTS');

    expect(await runCli(['restore', 'copy', file], bufferIo(), dir)).to.equal(0);
    expect(await runCli(['restore', 'taken', file, '--force'], bufferIo(), dir)).to.equal(0);
    const check = await tenancyOf(dir);
    for (const id of ['copy', 'taken']) {
      expect(await check.run(id, async em => (await em.find(Tag, {})).map(t => t.label)), id).to.deep.equal(['from backup']);
    }
    expect(await check.registry.exists('copy')).to.equal(true);
    await check.close();

    writeFileSync(join(dir, 'junk.sqlite3'), 'not a database at all, just text');
    const junk = bufferIo();
    expect(await runCli(['restore', 'junk', join(dir, 'junk.sqlite3')], junk, dir)).to.equal(1);
    expect(junk.stderr).to.include('ERR_INVALID_BACKUP');
    expect(existsSync(join(dir, 'tenants', 'tenant_junk.sqlite3'))).to.equal(false);
  });

  it('lists, reconciles, creates, deletes and manages the template, with --json where it applies', async () => {
    writeConfig(dir, 'twoMigrations');
    expect(await runCli(['create', 'c1'], bufferIo(), dir)).to.equal(0);
    expect(await runCli(['create', 'c2'], bufferIo(), dir)).to.equal(0);
    const list = bufferIo();
    expect(await runCli(['list', '--json'], list, dir)).to.equal(0);
    const tenants = (JSON.parse(list.stdout) as { tenants: { id: string; sizeBytes: number; pendingMigrations: number }[] }).tenants;
    expect(tenants.map(t => [t.id, t.pendingMigrations])).to.deep.equal([['c1', 0], ['c2', 0]]);
    expect(tenants[0]!.sizeBytes).to.be.greaterThan(0);

    const refused = bufferIo();
    expect(await runCli(['delete', 'c2'], refused, dir)).to.equal(1);
    expect(refused.stderr).to.include('ERR_CONFIRMATION_REQUIRED');
    expect(existsSync(join(dir, 'tenants', 'tenant_c2.sqlite3'))).to.equal(true);
    expect(await runCli(['delete', 'c2', '--yes'], bufferIo(), dir)).to.equal(0);
    expect(existsSync(join(dir, 'tenants', 'tenant_c2.sqlite3'))).to.equal(false);

    writeFileSync(join(dir, 'tenants', 'tenant_stray.sqlite3'), '');
    const report = bufferIo();
    expect(await runCli(['reconcile', '--json'], report, dir)).to.equal(1);
    expect((JSON.parse(report.stdout) as { unregistered: string[] }).unregistered).to.deep.equal(['stray']);
    expect(await runCli(['reconcile', '--fix'], bufferIo(), dir)).to.equal(0);

    expect(await runCli(['template', 'clear'], bufferIo(), dir)).to.equal(0);
    const built = bufferIo();
    expect(await runCli(['template', 'build'], built, dir)).to.equal(0);
    expect(built.stdout).to.match(/template-[0-9a-f]+\.sqlite3/);
  });

  it('answers bad input with one clear line and a non-zero exit, changing nothing', async () => {
    const missing = bufferIo();
    expect(await runCli(['list'], missing, dir)).to.equal(1);
    expect(missing.stderr).to.match(/^mikro-tenant: .*\(ERR_CONFIG_NOT_FOUND\)\n$/);

    writeConfig(dir, 'baseMigrations');
    for (const args of [['create', '../evil'], ['delete', 'UPPER', '--yes'], ['backup', '.hidden', '--out', join(dir, 'x')], ['migrate', '--tenant', 'a/b']]) {
      const io = bufferIo();
      expect(await runCli(args, io, dir), args.join(' ')).to.equal(1);
      expect(io.stderr, args.join(' ')).to.match(/^mikro-tenant: Invalid tenant id .*\(ERR_INVALID_TENANT_ID\)\n$/);
    }
    expect(existsSync(join(dir, 'evil.sqlite3'))).to.equal(false);
    const usage = bufferIo();
    expect(await runCli(['migrate', '--concurrency', 'zero'], usage, dir)).to.equal(2);
  });

  it('runs as a real process: the bin with --config, and exec with the tenant set', async () => {
    const config = writeConfig(dir, 'baseMigrations', 'custom.config.ts');
    // cwd: the repository, where '--import tsx' resolves; the config is found through --config alone.
    const run = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', BIN, '--config', config, ...args], { cwd: REPO })
      .then(r => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);
    expect((await run(['create', 'proc'])).code).to.equal(0);
    const listed = await run(['list', '--json']);
    expect((JSON.parse(listed.stdout) as { tenants: { id: string }[] }).tenants.map(t => t.id)).to.deep.equal(['proc']);
    const exec = await run(['exec', 'proc', '--', process.execPath, '-e', 'console.log("tenant=" + process.env.MIKRO_TENANT_ID); process.exit(3)']);
    expect(exec.code).to.equal(3);
    expect(exec.stdout).to.include('tenant=proc');
    const unknown = await run(['exec', 'nobody', '--', process.execPath, '-e', '0']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('ERR_TENANT_NOT_FOUND');
  });
});

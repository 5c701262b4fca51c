import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import { Tag } from '../../../../test/fixtures/entities.js';
import { tempDir } from '../../../../test/helpers.js';
import { bufferIo, fixtureTenancy, writeTsConfig } from './helpers.js';

function labels(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('select label from tag order by id').all() as { label: string }[]).map(r => r.label);
  } finally {
    db.close();
  }
}

describe('mikro-tenant backup and restore', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-backup'));
    writeTsConfig(dir, 'baseMigrations');
  });

  afterEach(() => cleanup());

  it('copies a tenant consistently while the app keeps writing to it', async () => {
    const app = await fixtureTenancy(dir);
    // Over 100 pages, so copying is more than one step of the backup API.
    await app.run('busy', async em => {
      for (let i = 0; i < 2000; i++) {
        em.create(Tag, { label: `seed ${i} ${'x'.repeat(200)}` });
      }
      await em.flush();
    });
    let committed = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await app.run('busy', async em => {
          em.create(Tag, { label: `write ${committed}` });
          await em.flush();
        });
        committed++;
        // better-sqlite3 is synchronous: yield so the backup in this process gets its turns.
        await new Promise(resolve => setImmediate(resolve));
      }
    })();
    await new Promise(resolve => setTimeout(resolve, 50));
    const committedBefore = committed;
    const io = bufferIo();
    const code = await runCli(['backup', 'busy', '--out', 'backups', '--json'], io, dir);
    const committedAfter = committed;
    writing = false;
    await writer;
    await app.close();

    expect(code, io.stderr).to.equal(0);
    const file = join(dir, 'backups', 'tenant_busy.sqlite3');
    expect(JSON.parse(io.stdout)).to.deep.equal({ backups: [{ tenantId: 'busy', file, bytes: readFileSync(file).length }] });
    const copy = new Database(file, { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).to.equal('ok');
    copy.close();
    const rows = labels(file).filter(l => l.startsWith('write ')).map(l => Number(l.slice(6)));
    process.stdout.write(`      [cli] backup under writes: ${committedBefore} rows committed before it, ${rows.length} in the copy, ${committedAfter} when it returned\n`);
    expect(committedAfter, 'the app wrote while the backup ran').to.be.greaterThan(committedBefore);
    expect(rows.length).to.be.within(committedBefore, committedAfter);
    expect(rows, 'a consistent snapshot: a prefix of the writes, without gaps').to.deep.equal(rows.map((_, i) => i));
    expect(labels(file).filter(l => l.startsWith('seed '))).to.have.length(2000);
    expect(readdirSync(join(dir, 'backups')), 'one self-contained file').to.deep.equal(['tenant_busy.sqlite3']);
  });

  it('never replaces a backup without --force, and checks every tenant before copying any', async () => {
    const app = await fixtureTenancy(dir);
    await app.run('a', async em => { em.create(Tag, { label: 'one' }); await em.flush(); });
    await app.run('b', async () => undefined);
    await app.close();
    expect(await runCli(['backup', 'a', '--out', 'b1'], bufferIo(), dir)).to.equal(0);
    const first = readFileSync(join(dir, 'b1', 'tenant_a.sqlite3'));

    const again = bufferIo();
    expect(await runCli(['backup', 'a', 'b', '--out', 'b1'], again, dir)).to.equal(1);
    expect(again.stderr).to.match(/^mikro-tenant: .*tenant_a\.sqlite3 exists; pass --force.*\(ERR_BACKUP_EXISTS\)\n$/);
    expect(readdirSync(join(dir, 'b1')), 'b was not copied either').to.deep.equal(['tenant_a.sqlite3']);

    const missing = bufferIo();
    expect(await runCli(['backup', 'b', 'nobody', '--out', 'b2'], missing, dir)).to.equal(1);
    expect(missing.stderr).to.match(/\(ERR_TENANT_NOT_FOUND\)\n$/);
    expect(existsSync(join(dir, 'b2'))).to.equal(false);

    const forced = bufferIo();
    expect(await runCli(['backup', '--all', '--out', 'b1', '--force', '--json'], forced, dir), forced.stderr).to.equal(0);
    expect((JSON.parse(forced.stdout) as { backups: { tenantId: string }[] }).backups.map(b => b.tenantId)).to.deep.equal(['a', 'b']);
    expect(labels(join(dir, 'b1', 'tenant_a.sqlite3'))).to.deep.equal(['one']);
    expect(first.length).to.be.greaterThan(0);
  });

  it('restores a backup: refuses an existing tenant without --force, replaces it with --force, ignoring its stale -wal', async () => {
    const app = await fixtureTenancy(dir);
    await app.run('src', async em => { em.create(Tag, { label: 'from backup' }); await em.flush(); });
    await app.run('taken', async em => { em.create(Tag, { label: 'old data' }); await em.flush(); });
    await app.close();
    expect(await runCli(['backup', 'src', '--out', 'b'], bufferIo(), dir)).to.equal(0);
    const backupFile = join(dir, 'b', 'tenant_src.sqlite3');
    const taken = join(dir, 'tenants', 'tenant_taken.sqlite3');

    const refused = bufferIo();
    expect(await runCli(['restore', 'taken', 'b/tenant_src.sqlite3'], refused, dir)).to.equal(1);
    expect(refused.stderr).to.match(/^mikro-tenant: tenant "taken" exists; pass --force .*\(ERR_TENANT_EXISTS\)\n$/);
    expect(labels(taken)).to.deep.equal(['old data']);

    const fresh = bufferIo();
    expect(await runCli(['restore', 'copy', backupFile], fresh, dir), fresh.stderr).to.equal(0);
    expect(fresh.stdout).to.equal(`restored copy from ${backupFile}\n`);

    // A -wal of the old data left next to the tenant (a crashed app): replayed onto the restored file, it would bring "old data" back.
    const writer = new Database(taken);
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare('insert into tag (label) values (?)').run('stale wal');
    copyFileSync(`${taken}-wal`, join(dir, 'stale-wal'));
    writer.close();
    copyFileSync(join(dir, 'stale-wal'), `${taken}-wal`);
    expect(labels(taken)).to.deep.equal(['old data', 'stale wal']);

    expect(await runCli(['restore', 'taken', backupFile, '--force'], bufferIo(), dir)).to.equal(0);
    expect(labels(taken)).to.deep.equal(['from backup']);
    const check = await fixtureTenancy(dir);
    for (const id of ['copy', 'taken']) {
      expect(await check.run(id, async em => (await em.find(Tag, {})).map(t => t.label)), id).to.deep.equal(['from backup']);
      expect((await check.registry.get(id))?.schemaVersion, id).to.equal('Migration001Notes');
    }
    await check.close();
    expect(readdirSync(join(dir, 'tenants', '.mikro-tenant', 'tmp')), 'no restore leftovers').to.deep.equal([]);
  });

  it('refuses a file that is not a sound SQLite database before touching anything', async () => {
    writeFileSync(join(dir, 'junk.sqlite3'), 'not a database at all, just some text that is long enough to look like a header');
    const junk = bufferIo();
    expect(await runCli(['restore', 'junk', 'junk.sqlite3'], junk, dir)).to.equal(1);
    expect(junk.stderr).to.match(/^mikro-tenant: .*junk\.sqlite3 is not a sound SQLite database: .*\(ERR_INVALID_BACKUP\)\n$/);
    const nothing = bufferIo();
    expect(await runCli(['restore', 'junk', 'no-such-file.sqlite3'], nothing, dir)).to.equal(1);
    expect(nothing.stderr).to.match(/no such file \(ERR_INVALID_BACKUP\)\n$/);
    expect(existsSync(join(dir, 'tenants', 'tenant_junk.sqlite3'))).to.equal(false);
  });

  it('writes backup folders 0700 and backups and restored tenants 0600 (tenant data stays owner-only)', async () => {
    const app = await fixtureTenancy(dir);
    await app.run('src', async em => { em.create(Tag, { label: 'private' }); await em.flush(); });
    await app.close();
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    const umask = process.umask();
    expect(await runCli(['backup', 'src', '--out', 'backups/nested'], bufferIo(), dir)).to.equal(0);
    expect(await runCli(['restore', 'copy', 'backups/nested/tenant_src.sqlite3'], bufferIo(), dir)).to.equal(0);
    expect([join(dir, 'backups'), join(dir, 'backups', 'nested')].map(mode)).to.deep.equal([(0o700 & ~umask).toString(8), (0o700 & ~umask).toString(8)]);
    expect(mode(join(dir, 'backups', 'nested', 'tenant_src.sqlite3'))).to.equal((0o600 & ~umask).toString(8));
    expect(mode(join(dir, 'tenants', 'tenant_copy.sqlite3'))).to.equal((0o600 & ~umask).toString(8));
  });
});

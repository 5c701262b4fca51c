import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { tempDir } from '../../helpers.js';
import { backupServer, type BackupServer } from './backup-server.js';
import { configTenancy, oneLine, runBin, writePgConfig } from './helpers.js';

async function query<R>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}

describe('mikro-tenant backup and restore on PostgreSQL schemas (pg_dump, pg_restore, psql; the bin, real processes)', function () {
  this.timeout(300_000);
  let server: BackupServer;
  let dir: string;
  let cleanup: () => void;
  let url: string;
  let dbName: string;

  before(async function () {
    this.timeout(120_000);
    server = await backupServer();
  });

  after(async () => {
    await server?.stop();
  });

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('mt-pg-backup'));
    dbName = `mtbk_${randomBytes(5).toString('hex')}`;
    await query(server.url, `create database "${dbName}"`);
    const u = new URL(server.url);
    u.pathname = `/${dbName}`;
    url = u.toString();
    writePgConfig(dir, url, 1);
  });

  afterEach(async () => {
    cleanup();
    await query(server.url, `drop database if exists "${dbName}" with (force)`);
  });

  const labels = async (schema: string) => (await query<{ label: string }>(url, `select label from "${schema}"."item" order by id`)).map(r => r.label);
  const schemas = async () => (await query<{ nspname: string }>(url, "select nspname from pg_namespace where nspname like 'tenant\\_%' or nspname like 'mt\\_restore\\_%' order by 1")).map(r => r.nspname);
  const registry = async () => (await query<{ tenant_id: string; location: string; schema_version: string | null }>(url,
    'select tenant_id, location, schema_version from public.mikro_tenant_registry order by tenant_id')).map(r => `${r.tenant_id}:${r.location}:${r.schema_version}`);

  async function seed(): Promise<void> {
    const { tenancy, Item } = await configTenancy(dir);
    await tenancy.run('src', async em => { em.create(Item as never, { label: 'one' }); em.create(Item as never, { label: 'two' }); await em.flush(); });
    await tenancy.run('taken', async em => { em.create(Item as never, { label: 'old data' }); await em.flush(); });
    await tenancy.close();
  }

  it('backs up per tenant with pg_dump --schema, restores under another id and into a deleted one, and never replaces a tenant', async () => {
    await seed();
    const made = await runBin(['backup', 'src', 'taken', '--out', 'backups', '--json'], dir);
    expect(made.code, made.stderr).to.equal(0);
    const file = join(dir, 'backups', 'tenant_src.dump');
    expect(JSON.parse(made.stdout)).to.deep.equal({ backups: [
      { tenantId: 'src', file, bytes: statSync(file).size }, { tenantId: 'taken', file: join(dir, 'backups', 'tenant_taken.dump'), bytes: statSync(join(dir, 'backups', 'tenant_taken.dump')).size },
    ] });
    expect(readFileSync(file).subarray(0, 5).toString()).to.equal('PGDMP');
    expect((statSync(file).mode & 0o777).toString(8)).to.equal((0o600 & ~process.umask()).toString(8));
    expect(readdirSync(join(dir, 'backups')).sort()).to.deep.equal(['tenant_src.dump', 'tenant_taken.dump']);

    const again = await runBin(['backup', 'src', '--out', 'backups'], dir);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(oneLine('ERR_BACKUP_EXISTS'));
    const forced = await runBin(['backup', '--all', '--out', 'backups', '--force', '--json'], dir);
    expect(forced.code, forced.stderr).to.equal(0);
    expect((JSON.parse(forced.stdout) as { backups: { tenantId: string }[] }).backups.map(b => b.tenantId)).to.deep.equal(['src', 'taken']);

    // Under another id while the source tenant still exists: the copy gets its own schema, the source is untouched.
    const copy = await runBin(['restore', 'copy', 'backups/tenant_src.dump'], dir);
    expect([copy.code, copy.stdout], copy.stderr).to.deep.equal([0, `restored copy from ${file}\n`]);
    expect(await labels('tenant_copy')).to.deep.equal(['one', 'two']);
    expect(await labels('tenant_src')).to.deep.equal(['one', 'two']);
    expect(await schemas()).to.deep.equal(['tenant_copy', 'tenant_src', 'tenant_taken']);
    expect(await registry()).to.deep.equal(['copy:tenant_copy:M001', 'src:tenant_src:M001', 'taken:tenant_taken:M001']);
    const { tenancy, Item } = await configTenancy(dir);
    expect(await tenancy.run('copy', async em => { em.create(Item as never, { label: 'three' }); await em.flush(); return em.count(Item as never); })).to.equal(3);
    await tenancy.close();

    // Onto an existing tenant: refused, with or without --force, and nothing of it changes.
    for (const args of [['restore', 'taken', file], ['restore', 'taken', file, '--force']]) {
      const refused = await runBin(args, dir);
      expect(refused.code, args.join(' ')).to.equal(1);
      expect(refused.stderr).to.match(oneLine('ERR_TENANT_EXISTS'));
    }
    expect(await labels('tenant_taken')).to.deep.equal(['old data']);

    // Into its own id after a deletion; then a pending migration is pointed out.
    expect((await runBin(['delete', 'src', '--yes'], dir)).code).to.equal(0);
    writePgConfig(dir, url, 2);
    const back = await runBin(['restore', 'src', file], dir);
    expect([back.code, back.stdout], back.stderr).to.deep.equal([0, `restored src from ${file}; 1 pending migration: run mikro-tenant migrate --tenant src\n`]);
    expect(await labels('tenant_src')).to.deep.equal(['one', 'two']);
    expect(await schemas()).to.deep.equal(['tenant_copy', 'tenant_src', 'tenant_taken']);
  });

  it('a restore that fails leaves no schema and no registry row; a file that is no backup is refused before anything', async () => {
    await seed();
    // Plain format, as pg_dump --format=plain writes it: the schema and a table are made, then a statement fails.
    writeFileSync(join(dir, 'broken.sql'), 'CREATE SCHEMA tenant_src;\nCREATE TABLE tenant_src.item (id serial primary key, label text);\n'
      + "INSERT INTO tenant_src.item (label) VALUES ('half');\nINSERT INTO tenant_src.nothing VALUES (1);\n");
    const failed = await runBin(['restore', 'broken', 'broken.sql'], dir);
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(oneLine('ERR_RESTORE_FAILED'));
    expect(await schemas()).to.deep.equal(['tenant_src', 'tenant_taken']);
    expect(await labels('tenant_src'), 'the live schema of the backup\'s name is back in place').to.deep.equal(['one', 'two']);
    expect(await registry()).to.deep.equal(['src:tenant_src:M001', 'taken:tenant_taken:M001']);

    // A custom-format archive cut short.
    expect((await runBin(['backup', 'src', '--out', 'b'], dir)).code).to.equal(0);
    const whole = readFileSync(join(dir, 'b', 'tenant_src.dump'));
    writeFileSync(join(dir, 'cut.dump'), whole.subarray(0, Math.floor(whole.length / 2)));
    const cut = await runBin(['restore', 'cut', 'cut.dump'], dir);
    expect(cut.code).to.equal(1);
    expect(cut.stderr).to.match(/\((ERR_INVALID_BACKUP|ERR_RESTORE_FAILED)\)\n$/);

    writeFileSync(join(dir, 'junk.dump'), 'not a backup at all\n');
    for (const [args, code] of [[['restore', 'junk', 'junk.dump'], 'ERR_INVALID_BACKUP'], [['restore', 'junk', 'no-such.dump'], 'ERR_INVALID_BACKUP']] as const) {
      const refused = await runBin([...args], dir);
      expect(refused.code, args.join(' ')).to.equal(1);
      expect(refused.stderr).to.match(oneLine(code));
    }
    expect(await schemas()).to.deep.equal(['tenant_src', 'tenant_taken']);
    expect(await registry()).to.deep.equal(['src:tenant_src:M001', 'taken:tenant_taken:M001']);
  });

  it('without the client programs: ERR_BACKUP_TOOL_MISSING, and no file, schema or row', async () => {
    await seed();
    expect((await runBin(['backup', 'src', '--out', 'b'], dir)).code).to.equal(0);
    const env = { MIKRO_TENANT_PG_BIN: join(dir, 'no-such-folder') };
    const backup = await runBin(['backup', 'src', '--out', 'b2'], dir, env);
    expect(backup.code).to.equal(1);
    expect(backup.stderr).to.match(oneLine('ERR_BACKUP_TOOL_MISSING'));
    expect(backup.stderr).to.include('pg_dump');
    const restore = await runBin(['restore', 'copy', 'b/tenant_src.dump'], dir, env);
    expect(restore.code).to.equal(1);
    expect(restore.stderr).to.match(oneLine('ERR_BACKUP_TOOL_MISSING'));
    expect(existsSync(join(dir, 'b2'))).to.equal(false);
    expect(await schemas()).to.deep.equal(['tenant_src', 'tenant_taken']);
  });
});

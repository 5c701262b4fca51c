import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../../helpers.js';
import { createTestDatabase, schemaNames, type TestDatabase } from '../helpers.js';
import { oneLine, runBin, runBins, writePgConfig } from './helpers.js';

/** Ids no tenant can have: path tricks, SQL, case, control characters, and one too long for a schema name (57 > 63 - "tenant_".length). */
const HOSTILE = ['../evil', 'a/b', 'UPPER', '"; drop schema public cascade; --', 'tab\there', 'x'.repeat(57)];

describe('mikro-tenant on PostgreSQL schemas: hostile ids, missing tenants (the bin, real processes)', function () {
  this.timeout(300_000);
  let dir: string;
  let cleanup: () => void;
  let db: TestDatabase;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('mt-pg-cli-bad'));
    db = await createTestDatabase('mtcli');
    writePgConfig(dir, db.url, 1);
    writeFileSync(join(dir, 'backup.dump'), '');
  });

  afterEach(async () => {
    cleanup();
    await db.drop();
  });

  it('every command that takes an id refuses a hostile one: one line, ERR_INVALID_TENANT_ID, no schema, no row, no file', async () => {
    expect((await runBin(['create', 'ok'], dir)).code).to.equal(0);
    const commands = [
      (id: string) => ['create', id], (id: string) => ['delete', id, '--yes'], (id: string) => ['migrate', '--tenant', id],
      (id: string) => ['migrate', '--check', '--tenant', id], (id: string) => ['backup', 'ok', id, '--out', 'out'],
      (id: string) => ['restore', id, 'backup.dump'], (id: string) => ['exec', id, '--', process.execPath, '-e', '0'],
    ];
    // Every command with the id too long for a schema name (the strategy's own rule), and every other id in some command.
    const runs = commands.flatMap((command, i) => [command(HOSTILE.at(-1)!), command(HOSTILE[i % (HOSTILE.length - 1)]!)]);
    const results = await runBins(runs.map(args => ({ args })), dir);
    const wrong = results.map((r, i) => ({ args: runs[i]!.join(' '), ...r })).filter(r => r.code !== 1 || !oneLine('ERR_INVALID_TENANT_ID').test(r.stderr) || r.stdout);
    expect(wrong).to.deep.equal([]);
    expect(await schemaNames(db, '%')).to.not.include.members(['evil', 'tenant_upper']);
    expect((await schemaNames(db)).filter(s => s.startsWith('tenant_'))).to.deep.equal(['tenant_ok']);
    expect((await db.query('select tenant_id from public.mikro_tenant_registry')).length).to.equal(1);
    expect(await db.query("select 1 from pg_namespace where nspname = 'public'")).to.have.length(1);
    expect(readdirSync(dir).sort()).to.deep.equal(['backup.dump', 'mikro-tenant.config.mjs']);
  });

  it('a missing tenant: ERR_TENANT_NOT_FOUND from every command that needs one, nothing created', async () => {
    const runs = [
      ['migrate', '--tenant', 'nobody'], ['migrate', '--check', '--tenant', 'nobody'], ['delete', 'nobody', '--yes'],
      ['backup', 'nobody', '--out', 'out'], ['exec', 'nobody', '--', process.execPath, '-e', '0'],
    ];
    const results = await runBins(runs.map(args => ({ args })), dir);
    const wrong = results.map((r, i) => ({ args: runs[i]!.join(' '), ...r })).filter(r => r.code !== 1 || !oneLine('ERR_TENANT_NOT_FOUND').test(r.stderr) || r.stdout);
    expect(wrong).to.deep.equal([]);
    expect(await schemaNames(db)).to.deep.equal([]);
    expect(readdirSync(dir).sort()).to.deep.equal(['backup.dump', 'mikro-tenant.config.mjs']);
  });
});

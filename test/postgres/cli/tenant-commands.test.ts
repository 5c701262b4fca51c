import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { tempDir } from '../../helpers.js';
import { createTestDatabase, schemaNames, type TestDatabase } from '../helpers.js';
import { PG_ENTRY, configTenancy, oneLine, runBin, writePgConfig } from './helpers.js';

interface Summary { migrated: { tenantId: string; executed: string[] }[]; failed: { tenantId: string; code: string }[]; upToDate: number; workers: number; template: null }

describe('mikro-tenant on PostgreSQL schemas (the bin, real processes)', function () {
  this.timeout(180_000);
  let dir: string;
  let cleanup: () => void;
  let db: TestDatabase;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('mt-pg-cli'));
    db = await createTestDatabase('mtcli');
  });

  afterEach(async () => {
    cleanup();
    await db.drop();
  });

  const versions = async () => Object.fromEntries((await db.query<{ tenant_id: string; schema_version: string | null }>(
    'select tenant_id, schema_version from public.mikro_tenant_registry order by tenant_id')).map(r => [r.tenant_id, r.schema_version]));

  it('create, list, migrate (--check, one tenant, all), reconcile (--fix), delete, template', async () => {
    writePgConfig(dir, db.url, 1);
    const created = await runBin(['create', 'a'], dir);
    expect(created.stdout, created.stderr).to.equal('created a (schema tenant_a)\n');
    const twice = await runBin(['create', 'a'], dir);
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.match(oneLine('ERR_TENANT_EXISTS'));
    const { tenancy, Item } = await configTenancy(dir);
    for (const id of ['b', 'c']) {
      await tenancy.createTenant(id);
    }
    await tenancy.run('b', async em => { em.create(Item as never, { label: 'one' }); await em.flush(); });
    await tenancy.close();

    const list = await runBin(['list', '--json'], dir);
    expect(list.code, list.stderr).to.equal(0);
    const rows = (JSON.parse(list.stdout) as { tenants: { tenantId: string; sizeBytes: number; modifiedAt: null; schemaVersion: string; pendingMigrations: number }[] }).tenants;
    expect(rows.map(r => [r.tenantId, r.schemaVersion, r.pendingMigrations, r.modifiedAt])).to.deep.equal([['a', 'M001', 0, null], ['b', 'M001', 0, null], ['c', 'M001', 0, null]]);
    expect(rows.every(r => r.sizeBytes > 0)).to.equal(true);

    writePgConfig(dir, db.url, 2);
    const drift = await runBin(['migrate', '--check', '--json'], dir);
    expect(drift.code, drift.stderr).to.equal(1);
    expect(JSON.parse(drift.stdout)).to.deep.equal({
      checked: 3, pending: ['a', 'b', 'c'].map(tenantId => ({ tenantId, pending: ['M002'] })), missing: [], errors: [],
    });
    const one = await runBin(['migrate', '--tenant', 'b', '--json'], dir);
    expect(one.code, one.stderr).to.equal(0);
    expect(JSON.parse(one.stdout)).to.deep.include({ migrated: [{ tenantId: 'b', executed: ['M002'] }], failed: [], upToDate: 0 });
    expect(await versions()).to.deep.equal({ a: 'M001', b: 'M002', c: 'M001' });
    const all = await runBin(['migrate', '-n', '2', '--json'], dir);
    expect(all.code, all.stderr).to.equal(0);
    const summary = JSON.parse(all.stdout) as Summary;
    expect(summary.migrated.map(m => `${m.tenantId}:${m.executed.join()}`).sort()).to.deep.equal(['a:M002', 'c:M002']);
    expect(summary).to.deep.include({ upToDate: 1, workers: 0, failed: [], template: null });
    expect(all.stderr.trim().split('\n')).to.have.length(3);
    expect(await versions()).to.deep.equal({ a: 'M002', b: 'M002', c: 'M002' });
    const columns = await db.query<{ column_name: string }>("select column_name from information_schema.columns where table_schema = 'tenant_b' and table_name = 'item' order by column_name");
    expect(columns.map(c => c.column_name)).to.deep.equal(['color', 'id', 'label']);
    const clean = await runBin(['migrate', '--check'], dir);
    expect([clean.code, clean.stdout]).to.deep.equal([0, 'all 3 tenants are up to date\n']);

    // A schema dropped behind the registry's back, and one made by hand.
    await db.query('drop schema "tenant_c" cascade');
    await db.query('create schema "tenant_stray"');
    const report = await runBin(['reconcile', '--json'], dir);
    expect(report.code).to.equal(1);
    expect(JSON.parse(report.stdout)).to.deep.equal({ missingSchemas: ['c'], unregistered: ['stray'], fixed: false });
    const failing = await runBin(['migrate', '--json'], dir);
    expect(failing.code).to.equal(1);
    expect((JSON.parse(failing.stdout) as Summary).failed.map(f => [f.tenantId, f.code])).to.deep.equal([['c', 'ERR_TENANT_SCHEMA_MISSING']]);
    expect(await schemaNames(db)).to.deep.equal(['tenant_a', 'tenant_b', 'tenant_stray']);
    expect((await runBin(['reconcile', '--fix'], dir)).code).to.equal(0);
    const fixed = await runBin(['reconcile'], dir);
    expect([fixed.code, fixed.stdout]).to.deep.equal([0, 'registered without a schema: none\nschemas without a registry row: none\n']);

    const refused = await runBin(['delete', 'b'], dir);
    expect([refused.code, refused.stderr]).to.satisfy(([code, stderr]: [number, string]) => code === 1 && oneLine('ERR_CONFIRMATION_REQUIRED').test(stderr));
    const deleted = await runBin(['delete', 'b', '--yes'], dir);
    expect([deleted.code, deleted.stdout]).to.deep.equal([0, 'deleted b\n']);
    expect(await schemaNames(db)).to.deep.equal(['tenant_a', 'tenant_stray']);
    expect(Object.keys(await versions())).to.deep.equal(['a', 'stray']);

    const template = await runBin(['template', 'build'], dir);
    expect(template.code).to.equal(1);
    expect(template.stderr).to.match(oneLine('ERR_NOT_SUPPORTED'));
  });

  it('exec runs a script as the tenant, with its exit code', async () => {
    writePgConfig(dir, db.url, 1);
    expect((await runBin(['create', 'acme'], dir)).code).to.equal(0);
    const script = join(dir, 'count-items.mjs');
    writeFileSync(script, `import { PostgresSchemaTenancy, runAsCliTenant } from ${JSON.stringify(pathToFileURL(PG_ENTRY).href)};
import makeConfig, { Item } from ${JSON.stringify(pathToFileURL(join(dir, 'mikro-tenant.config.mjs')).href)};
const { strategy, ...config } = await makeConfig();
const tenancy = await PostgresSchemaTenancy.init(config);
const count = await runAsCliTenant(tenancy, async em => { em.create(Item, { label: process.argv[2] }); await em.flush(); return em.count(Item); });
await tenancy.close();
console.log('tenant=' + process.env.MIKRO_TENANT_ID + ' items=' + count);
process.exit(3);
`);
    const exec = await runBin(['exec', 'acme', '--', process.execPath, script, 'hello'], dir);
    expect(exec.stderr).to.equal('');
    expect(exec.stdout).to.equal('tenant=acme items=1\n');
    expect(exec.code, 'the command\'s exit code').to.equal(3);
    expect(await db.query('select label from "tenant_acme"."item"')).to.deep.equal([{ label: 'hello' }]);
  });
});

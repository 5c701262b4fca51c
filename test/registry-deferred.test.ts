import { expect } from 'chai';
import { Note } from './fixtures/entities.js';
import { createSharedSchema, makeTenancy, tempDir, warningCollector, type SqlTenancy } from './helpers.js';

// New tenants are registered just after their file is placed, off the request's path: these pin that
// nobody can tell, that the rows land, and that changes racing the write are not lost.
describe('registry rows written just after provisioning', () => {
  let tenancy: SqlTenancy;
  let cleanup: () => void;
  let warnings: { message: string; code: string }[];

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const collector = warningCollector();
    warnings = collector.warnings;
    tenancy = await makeTenancy(tmp.dir, { warn: collector.warn });
    await createSharedSchema(tenancy);
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  /** The row as written in the registry table (queued rows are not in it yet). */
  const written = async (id: string) => (await writtenRows()).find(row => row.tenantId === id);
  const writtenRows = async () => tenancy.orm.em.fork().getConnection().execute<{ tenantId: string; location: string; schemaVersion: string | null }[]>(
    'select tenant_id as tenantId, location, schema_version as schemaVersion from mikro_tenant_registry order by tenant_id');

  it('reads see a new tenant at once; concurrent first requests are written together', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
    await Promise.all(ids.map(id => tenancy.run(id, em => em.count(Note, {}))));
    expect(tenancy.registry.queued).to.be.greaterThan(0);
    expect(await tenancy.registry.exists('t7')).to.equal(true);
    expect((await tenancy.listTenants()).map(t => t.tenantId)).to.deep.equal([...ids].sort());
    await tenancy.registry.flush();
    expect(tenancy.registry.queued).to.equal(0);
    expect((await writtenRows()).map(r => r.tenantId)).to.deep.equal([...ids].sort());
  });

  it('registers a tenant created inside a shared transaction even when that transaction rolls back (the file stays)', async () => {
    await tenancy.orm.em.fork().transactional(async () => {
      await tenancy.run('inside', async () => undefined);
      // Long enough for the row's write to start while this transaction is open.
      await new Promise(resolve => setTimeout(resolve, 20));
      throw new Error('roll back');
    }).catch(() => undefined);
    await tenancy.registry.flush();
    expect(await tenancy.tenantExists('inside')).to.equal(true);
    expect(await written('inside')).to.include({ tenantId: 'inside', location: 'tenant_inside.sqlite3' });
  });

  it('a tenant deleted while its row is being written has no row afterwards, even when the delete reaches the database first', async () => {
    await tenancy.run('gone', async () => undefined);
    let flushing: Promise<void> | undefined;
    await tenancy.orm.em.fork().transactional(async () => {
      // The row's write now waits for the connection this transaction holds...
      flushing = tenancy.registry.flush();
      // ...while this delete joins the transaction and runs first.
      expect(await tenancy.registry.unregister('gone')).to.equal(true);
    });
    await flushing;
    expect(await written('gone')).to.equal(undefined);
    expect(await tenancy.registry.exists('gone')).to.equal(false);
  });

  it('deleteTenant right after the first request leaves neither file nor row', async () => {
    await tenancy.run('brief', async () => undefined);
    expect(await tenancy.deleteTenant('brief')).to.equal(true);
    await tenancy.registry.flush();
    expect(await written('brief')).to.equal(undefined);
    expect(await tenancy.tenantExists('brief')).to.equal(false);
  });

  it('a schema version set before the row is written is the one written', async () => {
    await tenancy.run('versioned', async () => undefined);
    await tenancy.registry.setSchemaVersion('versioned', 'v2');
    await tenancy.registry.flush();
    expect((await written('versioned'))?.schemaVersion).to.equal('v2');
  });

  it('one schema version for many tenants reaches written and queued rows alike, in chunks past 500 ids', async () => {
    const ids = Array.from({ length: 1200 }, (_, i) => `w${String(i).padStart(4, '0')}`);
    await tenancy.registry.registerMany(ids.map(tenantId => ({ tenantId, location: `tenant_${tenantId}.sqlite3`, schemaVersion: null })));
    await tenancy.run('queued', async () => undefined);
    expect(tenancy.registry.queued).to.equal(1);
    await tenancy.registry.setSchemaVersions([...ids, 'queued'], 'v3');
    await tenancy.registry.flush();
    const rows = await writtenRows();
    expect(rows).to.have.length(1201);
    expect(rows.filter(row => row.schemaVersion !== 'v3')).to.deep.equal([]);
  });

  it('a failed write warns with MIKRO_TENANT_REGISTRY naming the tenants, and the tenants still work', async () => {
    await tenancy.orm.em.getConnection().execute(`drop table ${'mikro_tenant_registry'}`);
    await tenancy.run('orphan', async em => {
      em.create(Note, { text: 'kept' });
      await em.flush();
    });
    await tenancy.registry.flush();
    expect(warnings.map(w => w.code)).to.include('MIKRO_TENANT_REGISTRY');
    expect(warnings.find(w => w.code === 'MIKRO_TENANT_REGISTRY')!.message).to.contain('"orphan"');
    expect(await tenancy.run('orphan', em => em.count(Note, {}))).to.equal(1);
    await tenancy.registry.ensure();
  });

  it('createTenant() resolves with the row written; inside a shared transaction it does not wait for that transaction', async () => {
    await tenancy.createTenant('explicit');
    expect(tenancy.registry.queued).to.equal(0);
    expect(await written('explicit')).to.include({ tenantId: 'explicit' });
    const started = Date.now();
    await tenancy.orm.em.fork().transactional(async () => {
      // Waiting here for a write that needs this transaction's connection would hang until the pool's timeout.
      await tenancy.createTenant('in-trx');
      expect(await tenancy.registry.exists('in-trx')).to.equal(true);
    });
    expect(Date.now() - started).to.be.lessThan(5_000);
    await tenancy.registry.flush();
    expect(await written('in-trx')).to.include({ tenantId: 'in-trx' });
  });

  it('close() writes the rows still queued', async () => {
    await tenancy.run('last', async () => undefined);
    expect(tenancy.registry.queued).to.equal(1);
    const dir = tenancy.files.dir;
    await tenancy.close();
    const reopened = await makeTenancy(dir.replace(/\/tenants$/, ''));
    try {
      expect(await reopened.registry.exists('last')).to.equal(true);
    } finally {
      await reopened.close();
    }
    tenancy = await makeTenancy(dir.replace(/\/tenants$/, ''));
  });
});

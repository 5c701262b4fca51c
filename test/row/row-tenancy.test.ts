import { expect } from 'chai';
import { RowTenancy } from '@mikro-tenant/row';
import { errorOf, tempDir, tick } from '../helpers.js';
import { sqliteDriver } from '../orm-packages.js';
import { Account, Project, Task } from './fixtures.js';
import { openRowTenancy, type RowEngine, type RowFixture } from './helpers.js';

for (const engine of ['sqlite', 'pg'] as RowEngine[]) {
  describe(`RowTenancy on ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, function () {
    this.timeout(60_000);
    let fixture: RowFixture;
    beforeEach(async () => {
      fixture = await openRowTenancy(engine);
    });
    afterEach(async () => fixture?.close());

    it('registers tenants: createTenant (never twice), tenantExists, listTenants', async () => {
      const { tenancy } = fixture;
      await tenancy.createTenant('a');
      expect((await errorOf(() => tenancy.createTenant('a')))?.code).to.equal('ERR_TENANT_EXISTS');
      await tenancy.run('b', () => undefined);
      expect(await tenancy.tenantExists('a')).to.equal(true);
      expect(await tenancy.tenantExists('c')).to.equal(false);
      expect((await tenancy.listTenants()).map(t => t.tenantId)).to.deep.equal(['a', 'b']);
    });

    it('fills the tenant column from the active tenant', async () => {
      const { tenancy } = fixture;
      const project = await tenancy.run('a', async em => {
        const created = em.create(Project, { name: 'p' });
        await em.flush();
        return created;
      });
      expect((project as unknown as { tenantId: string }).tenantId).to.equal('a');
      const owners = await tenancy.unscoped(em => em.getConnection().execute('select tenant_id from project', [], 'all', undefined, { mikroTenantUnscoped: true } as never));
      expect(owners).to.deep.equal([{ tenant_id: 'a' }]);
    });

    it('deleteTenant deletes the tenant\'s rows from every tenant-owned table and its registry row, and nothing else', async () => {
      const { tenancy } = fixture;
      for (const id of ['a', 'b']) {
        await tenancy.run(id, async em => {
          const project = em.create(Project, { name: `${id}-p` });
          em.create(Task, { title: `${id}-t`, project });
          await em.flush();
        });
      }
      expect(await tenancy.deleteTenant('b')).to.equal(true);
      expect(await tenancy.tenantExists('b')).to.equal(false);
      const left = await tenancy.unscoped(async em => [...await em.find(Project, {}), ...await em.find(Task, {})].map(e => (e as unknown as { tenantId: string }).tenantId));
      expect(left).to.deep.equal(['a', 'a']);
      expect(await tenancy.deleteTenant('b')).to.equal(false);
    });

    it('keeps each tenant\'s rows apart under interleaved async work', async () => {
      const { tenancy } = fixture;
      const ids = ['a', 'b', 'c', 'd'];
      const seen = await Promise.all(Array.from({ length: 24 }, (_, i) => ids[i % ids.length]!).map((id, i) => tenancy.run(id, async em => {
        em.create(Project, { name: `${id}-${i}` });
        await tick(i % 3);
        await em.flush();
        await tick((i * 7) % 4);
        const [mine, viaContext] = await Promise.all([em.find(Project, {}), tenancy.em.find(Project, {})]);
        return { id, names: [...mine, ...viaContext].map(p => p.name) };
      })));
      for (const { id, names } of seen) {
        expect(names.every(name => name.startsWith(`${id}-`)), `${id} saw ${names.join(', ')}`).to.equal(true);
      }
      const total = await tenancy.unscoped(em => em.count(Project));
      expect(total).to.equal(24);
    });

    it('unscoped(fn) is labelled in the query log', async () => {
      const lines: string[] = [];
      await fixture.close();
      fixture = await openRowTenancy(engine, {}, { debug: ['query'], logger: (line: string) => lines.push(line) } as never);
      await fixture.tenancy.unscoped(em => em.find(Project, {}));
      expect(lines.filter(line => /select .*project/i.test(line)).every(line => line.includes('mikro-tenant: unscoped'))).to.equal(true);
      expect(lines.some(line => line.includes('mikro-tenant: unscoped'))).to.equal(true);
    });

    it('reconcile finds tenant ids without a registry row, and reports a tenant-owned table the schema lacks instead of failing', async () => {
      const { tenancy } = fixture;
      await tenancy.run('a', async em => { em.create(Project, { name: 'p' }); await em.flush(); });
      await tenancy.unscoped(em => em.getConnection().execute("insert into project (name, tenant_id) values ('orphan', 'ghost')", [], 'run', undefined, { mikroTenantUnscoped: true } as never));
      expect(await tenancy.reconcile({ fix: false })).to.deep.equal({ unregistered: ['ghost'], missingTables: [] });
      await tenancy.unscoped(em => em.getConnection().execute(`drop table task${engine === 'sqlite' ? '' : ' cascade'}`, [], 'run', undefined, { mikroTenantUnscoped: true } as never));
      expect(await tenancy.reconcile({ fix: true })).to.deep.equal({ unregistered: ['ghost'], missingTables: ['task'] });
      expect(await tenancy.tenantExists('ghost')).to.equal(true);
    });

    it('refuses unknown tenants with autoCreate off', async () => {
      await fixture.close();
      fixture = await openRowTenancy(engine, { autoCreate: false });
      expect((await errorOf(() => fixture.tenancy.run('nobody', () => undefined)))?.code).to.equal('ERR_TENANT_NOT_FOUND');
    });
  });
}

describe('RowTenancy options', () => {
  for (const [name, tenancy, option] of [
    ['no entities', { entities: [] }, 'tenancy.entities'],
    ['an unknown option', { entities: [Project], guardd: true }, 'tenancy.guardd'],
    ['a bad property name', { entities: [Project], property: 'tenant id' }, 'tenancy.property'],
    ['guard not a boolean', { entities: [Project], guard: 'yes' }, 'tenancy.guard'],
    ['deleteOnTenantDelete without tenantEntity', { entities: [Project], deleteOnTenantDelete: true }, 'tenancy.deleteOnTenantDelete'],
  ] as const) {
    it(`refuses ${name} before connecting (${option})`, async () => {
      const error = await errorOf(() => RowTenancy.init({ driver: sqliteDriver(), dbName: '/nonexistent/dir/x.sqlite3', entities: [Account], tenancy } as never));
      expect(error?.code).to.equal('ERR_INVALID_OPTION');
      expect(error?.message).to.include(option);
    });
  }

  it('refuses row level security on SQLite', async () => {
    const { dir, cleanup } = tempDir('row');
    try {
      const error = await errorOf(() => RowTenancy.init({ driver: sqliteDriver(), dbName: `${dir}/x.sqlite3`, entities: [Account], tenancy: { entities: [Project, Task], rowLevelSecurity: true } }));
      expect(error?.code).to.equal('ERR_INVALID_OPTION');
    } finally {
      cleanup();
    }
  });
});

import { expect } from 'chai';
import { Note, User } from './fixtures/entities.js';
import { createSharedSchema, makeTenancy, tempDir, type SqlTenancy } from './helpers.js';

describe('cross-database relations: a tenant Note references a shared User through ATTACH', () => {
  let tenancy: SqlTenancy;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir);
    await createSharedSchema(tenancy);
    await tenancy.orm.em.fork().insertMany(User, [{ id: 'ann', name: 'Ann' }, { id: 'bob', name: 'Bob' }]);
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('creates notes pointing at shared users and finds them with populate (select-in and joined)', async () => {
    await tenancy.run('team', async em => {
      const ann = await em.findOneOrFail(User, 'ann');
      em.create(Note, { text: 'first', author: ann });
      em.create(Note, { text: 'second', author: 'bob' });
      await em.flush();
    });
    for (const strategy of ['select-in', 'joined'] as const) {
      const rows = await tenancy.run('team', em => em.find(Note, {}, { populate: ['author'], orderBy: { id: 'asc' }, strategy }));
      expect(rows.map(n => [n.text, n.author?.name]), strategy).to.deep.equal([['first', 'Ann'], ['second', 'Bob']]);
    }
  });

  it('filters on the shared entity\'s fields (a join across files)', async () => {
    await tenancy.run('team', async em => {
      em.create(Note, { text: 'by ann', author: 'ann' });
      em.create(Note, { text: 'by bob', author: 'bob' });
      await em.flush();
    });
    const byBob = await tenancy.run('team', em => em.find(Note, { author: { name: 'Bob' } }));
    expect(byBob.map(n => n.text)).to.deep.equal(['by bob']);
  });

  it('creates no user table in the tenant file and no note table in the shared file', async () => {
    await tenancy.run('team', async () => undefined);
    const tenantTables = await tenancy.run('team', em => em.execute<{ name: string }[]>(
      "select name from main.sqlite_master where type = 'table' and name not like 'sqlite_%'"));
    expect(tenantTables.map(t => t.name)).to.include('note').and.not.include('user');
    const sharedTables = await tenancy.orm.em.getConnection().execute<{ name: string }[]>(
      "select name from sqlite_master where type = 'table'");
    expect(sharedTables.map(t => t.name)).to.include('user').and.not.include('note');
  });

  it('does not attach when told not to (shared entities are then unreachable from tenants)', async () => {
    const tmp = tempDir();
    const plain = await makeTenancy(tmp.dir, { attach: false });
    try {
      await createSharedSchema(plain);
      const attached: { name: string }[] = await plain.run('x', em => em.execute('pragma database_list'));
      expect(attached.map(d => d.name)).to.deep.equal(['main']);
    } finally {
      await plain.close();
      tmp.cleanup();
    }
  });
});

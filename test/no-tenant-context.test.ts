import { expect } from 'chai';
import { RequestContext } from '@mikro-orm/core';
import { Note, User } from './fixtures/entities.js';
import { createSharedSchema, makeTenancy, tempDir, type SqlTenancy } from './helpers.js';

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('no tenant active: per-tenant entities are never queried anywhere', () => {
  let tenancy: SqlTenancy;
  let cleanup: () => void;
  let sharedStatements: string[];

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir);
    await createSharedSchema(tenancy);
    await tenancy.orm.em.fork().insert(User, { id: 'u1', name: 'Sue' });
    await tenancy.run('t1', async em => {
      em.create(Note, { text: 'n', author: 'u1' });
      await em.flush();
    });
    sharedStatements = [];
    const connection = tenancy.orm.em.getConnection();
    const execute = connection.execute.bind(connection);
    connection.execute = (async (...args: Parameters<typeof execute>) => {
      sharedStatements.push(String(args[0]));
      return execute(...args);
    }) as typeof connection.execute;
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  const paths: [string, (t: SqlTenancy) => unknown][] = [
    ['em.find', t => t.em.find(Note, {})],
    ['em.findOne', t => t.em.findOne(Note, { id: 1 })],
    ['em.count', t => t.em.count(Note, {})],
    ['em.create + flush', async t => { t.em.create(Note, { text: 'x' }); await t.em.flush(); }],
    ['em.insert', t => t.em.insert(Note, { text: 'x' })],
    ['em.nativeDelete', t => t.em.nativeDelete(Note, {})],
    ['QueryBuilder', t => t.em.createQueryBuilder(Note).select('*').execute()],
    ['raw execute', t => t.em.execute('select * from note')],
    ['raw connection', t => t.em.getConnection().execute('select 1')],
    ['fork().find', t => t.em.fork().find(Note, {})],
  ];
  for (const [name, call] of paths) {
    it(`tenancy.em ${name} throws ERR_NO_TENANT_CONTEXT`, async () => {
      expect(await codeOf(() => call(tenancy))).to.equal('ERR_NO_TENANT_CONTEXT');
      expect(sharedStatements).to.deep.equal([]);
    });
  }

  const sharedPaths: [string, (t: SqlTenancy) => unknown][] = [
    ['find', t => t.orm.em.fork().find(Note, {})],
    ['count', t => t.orm.em.fork().count(Note, {})],
    ['QueryBuilder', t => t.orm.em.fork().createQueryBuilder(Note).select('*').execute()],
    ['insert', t => t.orm.em.fork().insert(Note, { text: 'x' })],
    ['insertMany', t => t.orm.em.fork().insertMany(Note, [{ text: 'x' }, { text: 'y' }])],
    ['persist + flush', async t => { const em = t.orm.em.fork(); em.create(Note, { text: 'x' }); await em.flush(); }],
    ['nativeUpdate', t => t.orm.em.fork().nativeUpdate(Note, {}, { text: 'y' })],
    ['populate from a shared entity', async t => {
      const em = t.orm.em.fork();
      const user = await em.findOneOrFail(User, 'u1');
      await em.find(Note, { author: user });
    }],
  ];
  for (const [name, call] of sharedPaths) {
    it(`the shared orm.em refuses ${name} on a per-tenant entity with ERR_NO_TENANT_CONTEXT`, async () => {
      expect(await codeOf(() => call(tenancy))).to.equal('ERR_NO_TENANT_CONTEXT');
      expect(sharedStatements.filter(sql => /note/i.test(sql))).to.deep.equal([]);
    });
  }

  it('inside a tenant scope a shared EntityManager (no context resolution, or sharedContext: false) says to use the tenant EntityManager', async () => {
    await tenancy.run('t1', async () => {
      expect(await codeOf(() => tenancy.orm.em.fork({ disableContextResolution: true }).find(Note, {}))).to.equal('ERR_TENANT_ENTITY_ON_SHARED_EM');
    });
    await RequestContext.create(tenancy.orm.em, () => tenancy.run('t1', async () => {
      expect(await codeOf(() => tenancy.orm.em.find(Note, {}))).to.equal('ERR_TENANT_ENTITY_ON_SHARED_EM');
    }, { sharedContext: false }));
    expect(sharedStatements.filter(sql => /note/i.test(sql))).to.deep.equal([]);
  });

  it('the shared orm.em keeps working for shared entities', async () => {
    expect((await tenancy.orm.em.fork().find(User, {})).map(u => u.name)).to.deep.equal(['Sue']);
  });
});

import { expect } from 'chai';
import { RequestContext, type MikroORM } from '@mikro-orm/core';
import type { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { Note, User } from '../fixtures/entities.js';
import { IDIOMS } from '../fixtures/idioms.js';
import { errorOf } from '../helpers.js';
import { createTestDatabase, makePgTenancy, type TestDatabase } from './helpers.js';

for (const contextName of [undefined, 'shared']) {
  describe(`postgres: MikroORM's own idioms give the tenant's EntityManager inside a tenant scope (contextName ${contextName ?? 'default'})`, () => {
    let db: TestDatabase;
    let tenancy: PostgresSchemaTenancy;
    let orm: MikroORM;

    beforeEach(async () => {
      db = await createTestDatabase();
      tenancy = await makePgTenancy(db, { tenantEntity: User, deleteOnTenantDelete: true }, contextName ? { contextName } : {});
      orm = tenancy.orm as unknown as MikroORM;
      await tenancy.orm.em.fork().insertMany(User, [{ id: 'u1', name: 'Sue' }, { id: 'u2', name: 'Max' }]);
    });

    afterEach(async () => {
      await tenancy.close();
      await db.drop();
    });

    for (const [name, idiom] of IDIOMS) {
      it(`${name}: reads and writes tenant entities and reads shared ones inside tenancy.run(), each tenant its own`, async () => {
        expect(await tenancy.run('alpha', () => idiom(orm, 'alpha 1', 'u1'))).to.deep.equal(['Sue: alpha 1']);
        expect(await tenancy.run('beta', () => idiom(orm, 'beta 1', 'u2'))).to.deep.equal(['Max: beta 1']);
        expect(await tenancy.run('alpha', () => idiom(orm, 'alpha 2', 'u2'))).to.deep.equal(['Sue: alpha 1', 'Max: alpha 2']);
        expect(await tenancy.run('alpha', () => tenancy.em.count(Note, {}))).to.equal(2);
        expect(await db.query('select count(*)::int as n from tenant_alpha.note')).to.deep.equal([{ n: 2 }]);
      });

      it(`${name}: outside a tenant scope per-tenant entities fail with ERR_NO_TENANT_CONTEXT`, async () => {
        const error = await errorOf(() => RequestContext.create(tenancy.orm.em, () => idiom(orm, 'nowhere', 'u1')));
        if (name === 'orm.em.execute()') {
          // Raw SQL names no entity: the shared schema has no note table, so it fails there.
          expect(error?.message).to.match(/relation "note" does not exist/);
          return;
        }
        if (name === 'RequestContext.getEntityManager()' && contextName) {
          expect(RequestContext.getEntityManager()).to.equal(undefined);
          return;
        }
        expect(error?.code, error?.message).to.equal('ERR_NO_TENANT_CONTEXT');
      });
    }

    it('inside a tenant transaction orm.em and RequestContext resolve to the transaction, which also writes shared rows, atomically', async () => {
      const failed = await errorOf(() => tenancy.run('alpha', em => em.transactional(async trx => {
        expect(tenancy.orm.em.getContext()).to.equal(trx);
        expect(RequestContext.getEntityManager(tenancy.orm.em.name)).to.equal(trx);
        tenancy.orm.em.create(Note, { text: 'in trx', author: 'u1' });
        await tenancy.orm.em.nativeUpdate(User, { id: 'u1' }, { name: 'Sue A.' });
        await tenancy.orm.em.flush();
        expect(await tenancy.orm.em.count(Note, {})).to.equal(1);
        throw new Error('roll back both');
      })));
      expect(failed?.message).to.equal('roll back both');
      expect(await tenancy.run('alpha', () => tenancy.orm.em.count(Note, {}))).to.equal(0);
      expect((await tenancy.orm.em.fork().findOneOrFail(User, 'u1')).name).to.equal('Sue');
    });

    it('orm.em.fork() in a tenant scope is a fork of the tenant; with disableContextResolution it is the shared ORM\'s', async () => {
      await tenancy.run('alpha', async em => {
        expect(tenancy.orm.em.fork().getDriver()).to.equal(em.getDriver());
        const shared = tenancy.orm.em.fork({ disableContextResolution: true });
        expect((await shared.find(User, {}, { orderBy: { id: 'asc' } })).map(u => u.name)).to.deep.equal(['Sue', 'Max']);
        expect((await errorOf(() => shared.find(Note, {})))?.code).to.equal('ERR_TENANT_ENTITY_ON_SHARED_EM');
      });
    });

    it('the library\'s own shared work in a tenant scope: createTenant, the registry, the deletion subscriber after a removal flushed by the tenant', async () => {
      await tenancy.run('alpha', async em => {
        await tenancy.createTenant('gamma');
        expect((await tenancy.registry.get('gamma'))?.tenantId).to.equal('gamma');
        await em.transactional(async trx => {
          await trx.nativeUpdate(User, { id: 'u1' }, { name: 'Sue A.' });
          await tenancy.createTenant('delta');
          expect(await tenancy.registry.exists('delta')).to.equal(true);
        });
        await tenancy.createTenant('u2');
        tenancy.orm.em.remove(tenancy.orm.em.getReference(User, 'u2'));
        await tenancy.orm.em.flush();
      });
      expect((await tenancy.registry.list()).map(r => r.tenantId)).to.include.members(['alpha', 'gamma', 'delta']);
      expect(await tenancy.tenantExists('u2')).to.equal(false);
      expect((await tenancy.orm.em.fork().findOneOrFail(User, 'u1')).name).to.equal('Sue A.');
    });
  });
}

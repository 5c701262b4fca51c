import { expect } from 'chai';
import { Note, Tag, User } from '../fixtures/entities.js';
import { errorOf, warningCollector } from '../helpers.js';
import { createTestDatabase, makePgTenancy, schemaNames, type TestDatabase } from './helpers.js';

describe('postgres: deleting tenants', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    await db.drop();
  });

  it('deleteTenant() drops the schema and the registry row in one transaction; false when there was nothing', async () => {
    const tenancy = await makePgTenancy(db);
    try {
      await tenancy.run('doomed', async em => { em.create(Tag, { label: 'x' }); await em.flush(); });
      await tenancy.run('kept', async () => undefined);
      expect(await tenancy.deleteTenant('doomed')).to.equal(true);
      expect(await schemaNames(db)).to.deep.equal(['tenant_kept']);
      expect(await tenancy.registry.exists('doomed')).to.equal(false);
      expect(await tenancy.deleteTenant('doomed')).to.equal(false);
      expect(await tenancy.run('doomed', em => em.count(Tag, {}))).to.equal(0);
    } finally {
      await tenancy.close();
    }
  });

  it('EntityManagers of a deleted tenant refuse to run (ERR_TENANT_DELETED), also after the tenant is created again', async () => {
    const tenancy = await makePgTenancy(db, { maxOpen: 1 });
    try {
      const early = await tenancy.fork('gone');
      // Pushed out of the pool of 1: the deletion cannot reach it through the pool.
      await tenancy.run('other', async () => undefined);
      const late = await tenancy.fork('gone');
      await tenancy.deleteTenant('gone');
      await tenancy.run('gone', async em => { em.create(Tag, { label: 'new life' }); await em.flush(); });
      for (const em of [early, late, early.fork()]) {
        expect(await errorOf(() => em.find(Tag, {}))).to.have.property('code', 'ERR_TENANT_DELETED');
      }
      expect(await tenancy.run('gone', em => em.count(Tag, {}))).to.equal(1);
    } finally {
      await tenancy.close();
    }
  });

  it('waits for in-flight work within deleteGraceMs, then drops the schema; work beyond it fails with ERR_TENANT_DELETED', async () => {
    const tenancy = await makePgTenancy(db, { deleteGraceMs: 200 });
    try {
      let release!: () => void;
      const gate = new Promise<void>(resolve => { release = resolve; });
      let entered!: () => void;
      const inside = new Promise<void>(resolve => { entered = resolve; });
      const quick = tenancy.run('busy', async em => {
        entered();
        await gate;
        em.create(Tag, { label: 'late write' });
        await em.flush();
        return em.count(Tag, {});
      });
      await inside;
      const deletion = tenancy.deleteTenant('busy');
      await new Promise(resolve => setTimeout(resolve, 20));
      expect(await tenancy.tenantExists('busy')).to.equal(true);
      release();
      expect(await quick).to.equal(1);
      expect(await deletion).to.equal(true);
      expect(await tenancy.tenantExists('busy')).to.equal(false);

      const slow = tenancy.run('slow', async em => {
        await new Promise(resolve => setTimeout(resolve, 400));
        return em.count(Tag, {});
      });
      await new Promise(resolve => setTimeout(resolve, 50));
      await tenancy.deleteTenant('slow');
      expect(await errorOf(() => slow)).to.have.property('code', 'ERR_TENANT_DELETED');
    } finally {
      await tenancy.close();
    }
  });

  it('deleting your own tenant inside its run() happens when the run settles', async () => {
    const tenancy = await makePgTenancy(db);
    try {
      let existedInside: boolean | undefined;
      await tenancy.run('self', async em => {
        expect(await tenancy.deleteTenant('self')).to.equal(true);
        em.create(Tag, { label: 'still here' });
        await em.flush();
        existedInside = await tenancy.tenantExists('self');
      });
      expect(existedInside).to.equal(true);
      expect(await tenancy.tenantExists('self')).to.equal(false);
    } finally {
      await tenancy.close();
    }
  });

  describe('the deletion subscriber on the tenant entity', () => {
    it('drops the schema after em.remove(user) + flush is committed, when deleteOnTenantDelete is on', async () => {
      const tenancy = await makePgTenancy(db, { tenantEntity: User, deleteOnTenantDelete: true });
      try {
        const em = tenancy.orm.em.fork();
        const user = em.create(User, { id: 'carol', name: 'Carol' });
        await em.flush();
        await tenancy.run(user, async tem => { tem.create(Note, { text: 'mine', author: 'carol' }); await tem.flush(); });
        expect(await schemaNames(db)).to.deep.equal(['tenant_carol']);
        em.remove(user);
        await em.flush();
        expect(await schemaNames(db)).to.deep.equal([]);
        expect(await tenancy.registry.exists('carol')).to.equal(false);
      } finally {
        await tenancy.close();
      }
    });

    it('removing a user whose id no schema can hold (too long) flushes normally: that row stood for no tenant', async () => {
      const tenancy = await makePgTenancy(db, { tenantEntity: User, deleteOnTenantDelete: true });
      try {
        const em = tenancy.orm.em.fork();
        const user = em.create(User, { id: 'l'.repeat(60), name: 'Long' });
        await em.flush();
        em.remove(user);
        await em.flush();
        expect(await em.fork().count(User, {})).to.equal(0);
      } finally {
        await tenancy.close();
      }
    });

    it('keeps the schema when the transaction that removed the user rolls back', async () => {
      const tenancy = await makePgTenancy(db, { tenantEntity: User, deleteOnTenantDelete: true });
      try {
        await tenancy.orm.em.fork().insert(User, { id: 'dave', name: 'Dave' });
        await tenancy.run('dave', async () => undefined);
        const aborted = await errorOf(() => tenancy.orm.em.fork().transactional(async em => {
          em.remove(await em.findOneOrFail(User, 'dave'));
          await em.flush();
          throw new Error('abort');
        }));
        expect(aborted?.message).to.equal('abort');
        expect(await schemaNames(db)).to.deep.equal(['tenant_dave']);
      } finally {
        await tenancy.close();
      }
    });

    it('is off by default: the schema stays and a MIKRO_TENANT_DELETION warning says so', async () => {
      const { warn, warnings } = warningCollector();
      const tenancy = await makePgTenancy(db, { tenantEntity: User, warn });
      try {
        const em = tenancy.orm.em.fork();
        const user = em.create(User, { id: 'erin', name: 'Erin' });
        await em.flush();
        await tenancy.run('erin', async () => undefined);
        em.remove(user);
        await em.flush();
        expect(await schemaNames(db)).to.deep.equal(['tenant_erin']);
        expect(warnings.map(w => w.code)).to.deep.equal(['MIKRO_TENANT_DELETION']);
      } finally {
        await tenancy.close();
      }
    });
  });
});

import { expect } from 'chai';
import { RequestContext } from '@mikro-orm/core';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, User } from './fixtures/entities.js';
import { createSharedSchema, makeTenancy, tempDir } from './helpers.js';

// MikroORM resolves context EntityManagers by name: these pin that the shared and tenant EMs never resolve to each other.
describe('context names: shared and tenant EntityManagers never resolve to each other', () => {
  let tenancy: SqliteTenancy;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir);
    await createSharedSchema(tenancy);
    await tenancy.orm.em.fork().insert(User, { id: 'u1', name: 'Shared Sue' });
    await tenancy.run('alpha', async em => {
      em.create(Note, { text: 'alpha note', author: 'u1' });
      await em.flush();
    });
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('gives every tenant EntityManager a unique context name, different from the shared one', async () => {
    const a = await tenancy.fork('alpha');
    const b = await tenancy.fork('beta');
    expect(a.name).to.not.equal(b.name);
    expect(a.name).to.not.equal(tenancy.orm.em.name);
    expect(a.fork().name).to.equal(a.name);
  });

  it('inside a shared RequestContext, the tenant EntityManager still reads the tenant database', async () => {
    await RequestContext.create(tenancy.orm.em, async () => {
      await tenancy.run('alpha', async () => {
        const notes = await tenancy.em.find(Note, {});
        expect(notes.map(n => n.text)).to.deep.equal(['alpha note']);
        const users = await tenancy.orm.em.find(User, {});
        expect(users.map(u => u.name)).to.deep.equal(['Shared Sue']);
      });
    });
  });

  it('inside a tenant transaction, a fork of the shared EntityManager without context resolution still uses the shared database', async () => {
    await tenancy.run('alpha', async em => {
      await em.transactional(async trx => {
        trx.create(Note, { text: 'in trx' });
        await trx.flush();
        const sharedFork = tenancy.orm.em.fork({ disableContextResolution: true });
        expect(sharedFork.getDriver()).to.equal(tenancy.orm.em.getDriver());
        expect((await sharedFork.find(User, {})).map(u => u.id)).to.deep.equal(['u1']);
        // orm.em.fork() resolves the context first, as in MikroORM: here that is the tenant's transaction.
        const contextFork = tenancy.orm.em.fork();
        expect(contextFork.getDriver()).to.equal(trx.getDriver());
        // tenancy.em resolves to the open transaction's EntityManager
        expect(tenancy.em.getContext()).to.equal(trx);
        expect(await tenancy.em.count(Note, {})).to.equal(2);
      });
    });
  });

  it('a tenant scope nested in another tenant transaction resolves to the inner tenant', async () => {
    await tenancy.run('beta', async em => {
      em.create(Note, { text: 'beta note' });
      await em.flush();
    });
    await tenancy.run('alpha', async em => {
      await em.transactional(async () => {
        await tenancy.run('beta', async () => {
          expect((await tenancy.em.find(Note, {})).map(n => n.text)).to.deep.equal(['beta note']);
        });
        expect((await tenancy.em.find(Note, {})).map(n => n.text)).to.deep.equal(['alpha note']);
      });
    });
  });

  it('run() gives the shared orm.em one request-context fork per call', async () => {
    const shared = tenancy.orm.em;
    const seen: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      await tenancy.run('alpha', async () => {
        const first = await shared.findOneOrFail(User, 'u1');
        // The same fork (one identity map) for the whole call...
        expect(await shared.findOneOrFail(User, 'u1')).to.equal(first);
        expect(RequestContext.getEntityManager(shared.name)).to.equal(RequestContext.getEntityManager(shared.name));
        seen.push(first);
      });
    }
    // ...and a new one for the next call.
    expect(seen[0]).to.not.equal(seen[1]);
  });

  it('run() names the tenant in a request context the caller already has, and restores the caller\'s after', async () => {
    const other = (await tenancy.fork('beta')).fork();
    await RequestContext.create([tenancy.orm.em, other], async () => {
      const outer = RequestContext.getEntityManager(tenancy.orm.em.name);
      await tenancy.run('alpha', async em => {
        expect(RequestContext.getEntityManager(tenancy.orm.em.name)).to.equal(em);
        // Other names of the caller's context stay as they were.
        expect(RequestContext.getEntityManager(other.name)?.getDriver()).to.equal(other.getDriver());
      });
      expect(RequestContext.getEntityManager(tenancy.orm.em.name)).to.equal(outer);
    });
  });

  it('run() with sharedContext: false leaves MikroORM\'s contexts as they are', async () => {
    await tenancy.run('alpha', async () => {
      expect(RequestContext.getEntityManager(tenancy.orm.em.name)).to.equal(undefined);
    }, { sharedContext: false });
  });
});

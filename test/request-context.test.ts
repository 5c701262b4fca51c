import { expect } from 'chai';
import { join } from 'node:path';
import { RequestContext, type MikroORM } from '@mikro-orm/core';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { IDIOMS } from './fixtures/idioms.js';
import { collectedWarnings, tempDir } from './helpers.js';

async function errorOf(fn: () => unknown): Promise<{ code?: string; message: string } | undefined> {
  try {
    await fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  return undefined;
}

async function makeNamedTenancy(dir: string, contextName?: string): Promise<SqliteTenancy> {
  const tenancy = await SqliteTenancy.init({
    dbName: join(dir, 'shared.sqlite3'),
    entities: [User],
    allowGlobalContext: false,
    ...(contextName ? { contextName } : {}),
    tenancy: {
      dir: join(dir, 'tenants'), entities: [Note, Tag], tenantEntity: User, deleteOnTenantDelete: true,
      warn: (message, code) => collectedWarnings.push({ message, code }),
    },
  });
  await tenancy.sharedSchema.create();
  await tenancy.orm.em.fork().insertMany(User, [{ id: 'u1', name: 'Sue' }, { id: 'u2', name: 'Max' }]);
  return tenancy;
}

for (const contextName of [undefined, 'shared']) {
  describe(`MikroORM's own idioms give the tenant's EntityManager inside a tenant scope (contextName ${contextName ?? 'default'})`, () => {
    let tenancy: SqliteTenancy;
    let orm: MikroORM;
    let cleanup: () => void;
    let sharedStatements: string[];

    beforeEach(async () => {
      const tmp = tempDir('mt-reqctx');
      cleanup = tmp.cleanup;
      tenancy = await makeNamedTenancy(tmp.dir, contextName);
      orm = tenancy.orm as unknown as MikroORM;
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

    for (const [name, idiom] of IDIOMS) {
      it(`${name}: reads and writes tenant entities and reads shared ones inside tenancy.run(), each tenant its own`, async () => {
        expect(await tenancy.run('alpha', () => idiom(orm, 'alpha 1', 'u1'))).to.deep.equal(['Sue: alpha 1']);
        expect(await tenancy.run('beta', () => idiom(orm, 'beta 1', 'u2'))).to.deep.equal(['Max: beta 1']);
        expect(await tenancy.run('alpha', () => idiom(orm, 'alpha 2', 'u2'))).to.deep.equal(['Sue: alpha 1', 'Max: alpha 2']);
        // tenancy.em keeps working, and the notes are in the tenants' files, not in the shared one.
        expect(await tenancy.run('alpha', () => tenancy.em.count(Note, {}))).to.equal(2);
        expect(sharedStatements.filter(sql => /\bnote\b/i.test(sql))).to.deep.equal([]);
      });

      it(`${name}: outside a tenant scope per-tenant entities fail with ERR_NO_TENANT_CONTEXT and nothing reaches the shared database`, async () => {
        const error = await errorOf(() => RequestContext.create(tenancy.orm.em, () => idiom(orm, 'nowhere', 'u1')));
        if (name === 'orm.em.execute()') {
          // Raw SQL names no entity: the shared database has no note table, so it fails there.
          expect(error?.message).to.match(/no such table: note/);
          return;
        }
        if (name === 'RequestContext.getEntityManager()' && contextName) {
          // MikroORM's own behaviour: nothing is registered under 'default' outside a tenant scope.
          expect(RequestContext.getEntityManager()).to.equal(undefined);
          return;
        }
        expect(error?.code, error?.message).to.equal('ERR_NO_TENANT_CONTEXT');
        expect(sharedStatements.filter(sql => /\bnote\b/i.test(sql))).to.deep.equal([]);
      });
    }

    it('inside a tenant transaction orm.em and RequestContext resolve to the transaction (no wait on the connection it holds)', async () => {
      const started = Date.now();
      await tenancy.run('alpha', em => em.transactional(async trx => {
        expect(tenancy.orm.em.getContext()).to.equal(trx);
        expect(RequestContext.getEntityManager(tenancy.orm.em.name)).to.equal(trx);
        tenancy.orm.em.create(Note, { text: 'in trx', author: 'u1' });
        await tenancy.orm.em.flush();
        expect(await tenancy.orm.em.count(Note, {})).to.equal(1);
        // A fork is outside the transaction (it would wait for the connection) unless it keeps it.
        expect(await tenancy.orm.em.fork({ keepTransactionContext: true }).count(Note, {})).to.equal(1);
      }));
      expect(Date.now() - started).to.be.below(5000);
      expect(await tenancy.run('alpha', () => tenancy.orm.em.count(Note, {}))).to.equal(1);
    });

    it('a request context made inside a tenant scope by other code (RequestContext.create(tenancy.em, fn)) still gives orm.em the tenant', async () => {
      await tenancy.run('alpha', () => RequestContext.create(tenancy.em, async () => {
        tenancy.orm.em.create(Note, { text: 'inner context', author: 'u1' });
        await tenancy.orm.em.flush();
        await tenancy.orm.em.transactional(async () => {
          expect(await tenancy.orm.em.count(Note, {})).to.equal(1);
        });
      }));
      expect(await tenancy.run('alpha', em => em.count(Note, {}))).to.equal(1);
    });

    it('orm.em.fork() in a tenant scope is a fork of the tenant; with disableContextResolution it is the shared database\'s', async () => {
      await tenancy.run('alpha', async em => {
        expect(tenancy.orm.em.fork().getDriver()).to.equal(em.getDriver());
        const shared = tenancy.orm.em.fork({ disableContextResolution: true });
        expect(shared.getDriver()).to.equal(tenancy.orm.em.getDriver());
        expect((await shared.find(User, {}, { orderBy: { id: 'asc' } })).map(u => u.name)).to.deep.equal(['Sue', 'Max']);
        expect((await errorOf(() => shared.find(Note, {})))?.code).to.equal('ERR_TENANT_ENTITY_ON_SHARED_EM');
      });
    });

    it('the library\'s own shared work in a tenant scope uses the shared connection: createTenant, the registry, the deletion subscriber', async () => {
      await tenancy.run('alpha', async em => {
        await tenancy.createTenant('gamma');
        expect((await tenancy.registry.get('gamma'))?.tenantId).to.equal('gamma');
        await em.transactional(async trx => {
          // A shared write first: the tenant transaction now holds the shared connection through its routed transaction.
          await trx.nativeUpdate(User, { id: 'u1' }, { name: 'Sue A.' });
          await tenancy.createTenant('delta');
          expect(await tenancy.registry.exists('delta')).to.equal(true);
        });
        // The tenant entity removed through the tenant's EntityManager: its database goes after the commit.
        await tenancy.createTenant('u2');
        tenancy.orm.em.remove(tenancy.orm.em.getReference(User, 'u2'));
        await tenancy.orm.em.flush();
      });
      expect((await tenancy.registry.list()).map(r => r.tenantId)).to.include.members(['alpha', 'gamma', 'delta']);
      expect(await tenancy.tenantExists('u2')).to.equal(false);
      expect((await tenancy.orm.em.fork().findOneOrFail(User, 'u1')).name).to.equal('Sue A.');
    });

    it('a shared transaction open around tenancy.run() is hidden from orm.em inside it, and joined by its shared writes', async () => {
      await tenancy.orm.em.fork().transactional(async shared => {
        await shared.nativeUpdate(User, { id: 'u1' }, { name: 'Outer' });
        const notes = await tenancy.run('alpha', async () => {
          tenancy.orm.em.create(Note, { text: 'nested', author: 'u1' });
          await tenancy.orm.em.flush();
          await tenancy.orm.em.nativeUpdate(User, { id: 'u2' }, { name: 'Inner' });
          return tenancy.orm.em.find(Note, {});
        });
        expect(notes.map(n => n.text)).to.deep.equal(['nested']);
      });
      const names = (await tenancy.orm.em.fork().find(User, {}, { orderBy: { id: 'asc' } })).map(u => u.name);
      expect(names).to.deep.equal(['Outer', 'Inner']);
    });
  });
}

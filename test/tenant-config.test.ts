import { join } from 'node:path';
import { expect } from 'chai';
import { RequestContext, defineEntity, p } from '@mikro-orm/core';
import { SqliteTenancy, TenantContextEntityManager, TenantEntityManager } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { makeTenancy, ormAdapter, tempDir } from './helpers.js';
import { MapCache } from './fixtures/map-cache.js';
import { sqlPackage } from './orm-packages.js';

// What a tenant's configuration owns (names, result cache, platform helpers) and what it shares with the
// shared ORM (options, logger): the tenant-only side of the parity suite in test/parity/.
describe('tenant configuration', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(() => cleanup());

  it('deleting a tenant drops its result-cache entries, so a tenant created again under its id starts empty', async () => {
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], debug: false, resultCache: { adapter: MapCache },
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      await tenancy.run('a', async em => {
        em.create(Tag, { label: 'old' });
        await em.flush();
        expect((await em.fork().find(Tag, {}, { cache: 60_000 })).map(t => t.label)).to.deep.equal(['old']);
        expect(await em.fork().count(Tag, {}, { cache: ['tags', 60_000] })).to.equal(1);
      });
      await tenancy.run('b', em => em.fork().find(Tag, {}, { cache: 60_000 }));
      const adapter = tenancy.orm.config.getResultCacheAdapter() as MapCache;
      const keys = () => [...adapter.data.keys()];
      expect(keys().filter(k => k.includes(':tenant:a:'))).to.have.length(2);

      await tenancy.deleteTenant('a');
      expect(keys().filter(k => k.includes(':tenant:a:'))).to.deep.equal([]);
      expect(keys().filter(k => k.includes(':tenant:b:'))).to.have.length(1);
      await tenancy.run('a', async em => {
        expect(await em.find(Tag, {}, { cache: 60_000 })).to.deep.equal([]);
        expect(await em.count(Tag, {}, { cache: ['tags', 60_000] })).to.equal(0);
      });
    } finally {
      await tenancy.close();
    }
  });

  it('a debug mode set at run time on the shared ORM survives tenant forks, for shared and tenant queries', async () => {
    const lines: string[] = [];
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], debug: false, colors: false, logger: line => lines.push(line),
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      await tenancy.sharedSchema.create();
      await tenancy.createTenant('a');
      tenancy.orm.config.set('debug', ['query']);
      lines.length = 0;
      await tenancy.run('a', async em => {
        await em.fork().count(Tag, {});
        await em.fork().count(Tag, {});
      });
      await tenancy.orm.em.fork().count(User, {});
      // MikroORM's colours are process-wide (the last ORM started decides): compare the plain text.
      const queries = lines.map(line => line.replace(/\x1B\[\d+m/g, '')).filter(line => line.startsWith('[query]'));
      expect(queries.filter(line => line.includes('(tenant:a)'))).to.have.length(2);
      expect(queries.filter(line => line.includes('`user`'))).to.have.length(1);
    } finally {
      await tenancy.close();
    }
  });

  it('names tenant EntityManagers <contextName>:tenant:<id>, unique per live tenancy, never the shared name', async () => {
    const one = await makeTenancy(join(dir, 'one'));
    const two = await makeTenancy(join(dir, 'two'));
    const named = await SqliteTenancy.init({
      dbName: join(dir, 'named.sqlite3'), entities: [User], contextName: 'app',
      tenancy: { dir: join(dir, 'named'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      expect((await one.fork('x')).name).to.equal('default:tenant:x');
      expect((await two.fork('x')).name).to.equal('default#2:tenant:x');
      expect((await named.fork('x')).name).to.equal('app:tenant:x');
      expect(named.orm.em.name).to.equal('app');
      await one.run('x', async () => expect(one.em.name).to.equal('default:tenant:x'));
    } finally {
      await one.close();
      await two.close();
      await named.close();
    }
    // A closed tenancy frees its names.
    const again = await makeTenancy(join(dir, 'again'));
    try {
      expect((await again.fork('x')).name).to.equal('default:tenant:x');
    } finally {
      await again.close();
    }
  });

  it('two tenancies in one process never hand each other their transaction or request EntityManagers', async () => {
    const one = await makeTenancy(join(dir, 'one'));
    const two = await makeTenancy(join(dir, 'two'));
    try {
      await one.run('x', async em => {
        em.create(Tag, { label: 'one' });
        await em.flush();
      });
      await two.run('x', async em => {
        em.create(Tag, { label: 'two' });
        await em.flush();
      });
      const labels = async (tenancy: SqliteTenancy) => (await tenancy.em.find(Tag, {})).map(t => t.label);
      await one.run('x', async em => {
        await em.transactional(async () => {
          expect(await labels(one)).to.deep.equal(['one']);
          expect(await two.run('x', () => labels(two))).to.deep.equal(['two']);
        });
        await RequestContext.create(em, async () => {
          expect(await two.run('x', () => labels(two))).to.deep.equal(['two']);
          expect(await labels(one)).to.deep.equal(['one']);
        });
      });
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('makes tenant EntityManagers of the app\'s entityManager class, still recognised as TenantEntityManager', async () => {
    class AppEntityManager extends sqlPackage().SqlEntityManager {}
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], entityManager: AppEntityManager,
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      await tenancy.run('a', async em => {
        expect(em).to.be.instanceOf(AppEntityManager).and.instanceOf(TenantEntityManager);
        expect(em).to.not.be.instanceOf(TenantContextEntityManager);
        expect(tenancy.em).to.be.instanceOf(AppEntityManager).and.instanceOf(TenantEntityManager);
        expect(em.tenantId).to.equal('a');
      });
      expect(tenancy.orm.em).to.be.instanceOf(AppEntityManager).and.not.instanceOf(TenantEntityManager);
    } finally {
      await tenancy.close();
    }
  });

  it('never takes what a custom `context` option returns under another name for the tenant\'s EntityManager', async () => {
    let current: unknown;
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], context: () => current as never,
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      current = tenancy.orm.em.fork();
      await tenancy.run('a', async em => {
        expect(tenancy.em.getContext()).to.equal(em);
        expect(await tenancy.em.count(Tag, {})).to.equal(0);
      });
    } finally {
      await tenancy.close();
    }
  });

  it('refuses a shared contextName that a tenant EntityManager could carry', async () => {
    for (const contextName of ['app:tenant', 'default:tenant:x', 'a#2:tenant', 42]) {
      let code: string | undefined;
      await SqliteTenancy.init({
        dbName: join(dir, 'shared.sqlite3'), entities: [User], contextName: contextName as string,
        tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag] },
      }).then(t => t.close(), (error: { code?: string }) => { code = error.code; });
      expect(code, String(contextName)).to.equal('ERR_INVALID_OPTION');
    }
  });

  it('a pooled tenant serves run() again after its driver was closed or reconnected', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('a', async em => {
        em.create(Tag, { label: 'kept' });
        await em.flush();
        await em.getDriver().reconnect();
      });
      expect(await tenancy.run('a', em => em.count(Tag, {}))).to.equal(1);
      await tenancy.run('a', em => em.getDriver().close());
      expect(await tenancy.run('a', em => em.count(Tag, {}))).to.equal(1);
      await tenancy.run('a', em => em.getDriver().close());
      expect(await tenancy.run('a', em => em.transactional(trx => trx.count(Tag, {})))).to.equal(1);
      expect(tenancy.stats().opened).to.equal(1);
    } finally {
      await tenancy.close();
    }
  });

  it('diffs a tenant schema with composite foreign keys through the tenant connection (pendingMigrations, migrateTenant)', async () => {
    const Order = defineEntity({ name: 'Order', properties: { id: p.integer().primary() } });
    const Product = defineEntity({ name: 'Product', properties: { id: p.integer().primary() } });
    const OrderItem = defineEntity({
      name: 'OrderItem',
      properties: { order: () => p.manyToOne(Order).primary(), product: () => p.manyToOne(Product).primary(), amount: p.integer() },
    });
    const Shipment = defineEntity({ name: 'Shipment', properties: { id: p.integer().primary().autoincrement(), item: () => p.manyToOne(OrderItem) } });
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User],
      tenancy: { dir: join(dir, 'tenants'), entities: [Order, Product, OrderItem, Shipment], warn: () => undefined },
    });
    try {
      await tenancy.run('a', async em => {
        em.create(Order, { id: 1 });
        em.create(Product, { id: 2 });
        em.create(Shipment, { item: em.create(OrderItem, { order: 1, product: 2, amount: 3 }) });
        await em.flush();
      });
      // SQLite cannot alter a composite foreign key, so MikroORM's diff always rebuilds `shipment` (plain too):
      // what matters is that the diff runs against the tenant's own tables.
      expect(await tenancy.pendingMigrations('a')).to.be.an('array');
      expect((await tenancy.migrateTenant('a')).version).to.match(/^schema:/);
      const shipment = await tenancy.run('a', em => em.findOneOrFail(Shipment, { item: { order: 1, product: 2 } }, { populate: ['item'] }));
      expect(shipment.item.amount).to.equal(3);
    } finally {
      await tenancy.close();
    }
  });

  it('opens tenant handles without the shared ORM\'s driverOptions (they describe the shared database\'s connection)', async function () {
    if (ormAdapter().major === 6) {
      // MikroORM 6 hands knex only `readonly` and `nativeBinding` of them; its tenant connection builds its own knex options.
      this.skip();
    }
    const shared: string[] = [];
    // better-sqlite3's `verbose` option: called with every statement the handle runs.
    const driverOptions = { verbose: (sql: unknown) => shared.push(String(sql)) };
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], driverOptions,
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      await tenancy.sharedSchema.create();
      await tenancy.run('a', em => em.count(Tag, {}));
      await tenancy.orm.em.fork().count(User, {});
      expect(shared.some(sql => sql.includes('`user`')), 'the shared handle has them').to.equal(true);
      expect(shared.filter(sql => sql.includes('`tag`')), 'no tenant handle has them').to.deep.equal([]);
    } finally {
      await tenancy.close();
    }
  });
});

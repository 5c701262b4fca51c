import { expect } from 'chai';
import { Tag, User } from './fixtures/entities.js';
import { makeTenancy, tempDir } from './helpers.js';

// What the warm path (run() and fork() of an open tenant) does cheaper than MikroORM's own code must
// leave the same observable state.
describe('warm path of an open tenant', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-warm'));
  });

  afterEach(() => cleanup());

  it('gives every fork its own copy of the tenant\'s logger context, as MikroORM\'s merge does (nested values and fork options too)', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('a', async em => {
        expect(em.getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a' });
        em.getLoggerContext().requestId = 'r1';
        const fork = em.fork();
        expect(fork.getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a', requestId: 'r1' });
        fork.getLoggerContext().requestId = 'r2';
        expect(em.getLoggerContext().requestId).to.equal('r1');
        expect(em.fork({ loggerContext: { job: 'sync' } }).getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a', requestId: 'r1', job: 'sync' });
        em.setLoggerContext({ label: 'tenant:a', nested: { depth: 1 } });
        const deep = em.fork().getLoggerContext();
        expect(deep).to.deep.equal({ label: 'tenant:a', nested: { depth: 1 } });
        expect(deep.nested).to.not.equal(em.getLoggerContext().nested);
      });
      expect((await tenancy.fork('a')).getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a' });
    } finally {
      await tenancy.close();
    }
  });

  it('leaves the shared allowGlobalContext as it was after tenant forks, never writes the shared configuration, and MikroORM\'s global-context check works', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.sharedSchema.create();
      // Nor do they write the shared configuration (each set() there re-applies colors and the debug mode).
      const set = tenancy.orm.config.set;
      const calls: string[] = [];
      tenancy.orm.config.set = function recorded(this: typeof tenancy.orm.config, key: never, value: never) {
        calls.push(String(key));
        return set.call(this, key, value);
      } as typeof set;
      try {
        for (let i = 0; i < 3; i++) {
          await tenancy.run('a', em => em.fork().count(Tag, {}));
          await tenancy.fork('b');
        }
      } finally {
        tenancy.orm.config.set = set;
      }
      expect(calls).to.deep.equal([]);
      expect(tenancy.orm.config.get('allowGlobalContext')).to.equal(false);
      await tenancy.orm.em.find(User, {}).then(() => expect.fail('the global EntityManager was used'), (error: Error) => {
        expect(error.message).to.match(/global EntityManager/);
      });
      tenancy.orm.config.set('allowGlobalContext', true);
      await tenancy.fork('c');
      expect(tenancy.orm.config.get('allowGlobalContext')).to.equal(true);
      expect(await tenancy.orm.em.count(User, {})).to.equal(0);
    } finally {
      await tenancy.close();
    }
  });

  it('counts leases, not the queries of a bare fork, as use of a tenant: the least recently leased one is evicted', async () => {
    const tenancy = await makeTenancy(dir, { maxOpen: 2 });
    try {
      await tenancy.run('a', em => em.count(Tag, {}));
      const bare = await tenancy.fork('a');
      await tenancy.run('b', em => em.count(Tag, {}));
      expect(await bare.count(Tag, {})).to.equal(0); // a query, not a lease: a stays the least recently used
      await tenancy.run('c', em => em.count(Tag, {}));
      const error = await bare.count(Tag, {}).then(() => undefined, (e: unknown) => e);
      expect(error).to.have.property('code', 'ERR_TENANT_EVICTED');
      expect(await tenancy.run('a', em => em.count(Tag, {}))).to.equal(0);
    } finally {
      await tenancy.close();
    }
  });
});

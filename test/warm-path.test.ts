import { expect } from 'chai';
import { Tag } from './fixtures/entities.js';
import { expectOwnLoggerContexts, expectSharedConfigurationKept } from './fixtures/warm-path-checks.js';
import { makeTenancy, tempDir } from './helpers.js';

// What the warm path (run() and fork() of an open tenant) does cheaper than MikroORM's own code must
// leave the same observable state (the checks are shared with the PostgreSQL twin: fixtures/warm-path-checks.ts).
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
      await expectOwnLoggerContexts(tenancy);
    } finally {
      await tenancy.close();
    }
  });

  it('leaves the shared allowGlobalContext as it was after tenant forks, never writes the shared configuration, and MikroORM\'s global-context check works', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.sharedSchema.create();
      await expectSharedConfigurationKept(tenancy);
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

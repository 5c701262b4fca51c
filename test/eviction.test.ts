import { expect } from 'chai';
import { Tag } from './fixtures/entities.js';
import { makeTenancy, tempDir, tick } from './helpers.js';

describe('open connections: LRU with maxOpen', () => {
  it('never closes a connection a run() is using, and stays within maxOpen once work ends', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir, { maxOpen: 2 });
    try {
      let release!: () => void;
      const gate = new Promise<void>(resolve => { release = resolve; });
      const holder = tenancy.run('holder', async em => {
        em.create(Tag, { label: 'before' });
        await em.flush();
        await gate; // meanwhile many other tenants are opened and evicted
        em.create(Tag, { label: 'after' });
        await em.flush();
        return (await tenancy.em.find(Tag, {}, { orderBy: { id: 'asc' } })).map(t => t.label);
      });
      await tick(10);
      for (let i = 0; i < 10; i++) {
        await tenancy.run(`other${i}`, async em => {
          em.create(Tag, { label: `o${i}` });
          await em.flush();
        });
      }
      expect(tenancy.openTenants).to.be.at.most(3);
      release();
      expect(await holder).to.deep.equal(['before', 'after']);
      expect(tenancy.openTenants).to.be.at.most(2);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });

  it('reports ERR_TENANT_EVICTED (never a silent reopen elsewhere) for a bare fork used after its tenant was evicted', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir, { maxOpen: 1 });
    try {
      const em = await tenancy.fork('first');
      await tenancy.run('second', async () => undefined);
      await tick(10);
      const error = await em.count(Tag, {}).then(() => undefined, (e: unknown) => e);
      expect(error).to.have.property('code', 'ERR_TENANT_EVICTED');
      expect(await (await tenancy.fork('first')).count(Tag, {})).to.equal(0);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

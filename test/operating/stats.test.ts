import { expect } from 'chai';
import { Note } from '../fixtures/entities.js';
import { tick } from '../helpers.js';
import { forEachStrategy } from './fixture.js';

forEachStrategy('stats(): the per-tenant view', fixture => {
  it('top tenants by query time over the window (with their statement counts), at most stats.top of them', async () => {
    const tenancy = await fixture().make({ stats: { top: 2 } });
    for (const [id, rounds] of [['quiet', 1], ['busy', 6], ['middle', 3]] as const) {
      for (let i = 0; i < rounds; i++) {
        await tenancy.run(id, em => em.count(Note, {}));
      }
    }
    const { tenants } = tenancy.stats();
    expect(Date.parse(tenants.since)).to.be.at.most(Date.now());
    expect(tenants.topByQueryTime).to.have.length(2);
    const times = tenants.topByQueryTime.map(row => row.queryTimeMs);
    expect(times).to.deep.equal([...times].sort((a, b) => b - a));
    const busy = tenants.topByQueryTime.find(row => row.tenantId === 'busy');
    expect(busy?.queries, JSON.stringify(tenants)).to.be.at.least(6);
  });

  it('statements older than two windows drop out; a deleted tenant is forgotten', async () => {
    const tenancy = await fixture().make({ stats: { windowMs: 30 } });
    await tenancy.run('a', em => em.count(Note, {}));
    expect(tenancy.stats().tenants.topByQueryTime.map(row => row.tenantId)).to.deep.equal(['a']);
    await tick(70);
    expect(tenancy.stats().tenants.topByQueryTime).to.deep.equal([]);
    await tenancy.listTenants();
    expect(tenancy.stats().tenants.topBySize.map(row => row.tenantId)).to.deep.equal(['a']);
    await tenancy.deleteTenant('a');
    expect(tenancy.stats().tenants.topBySize).to.deep.equal([]);
  });

  it('stats: false times no statement (no query figures), sizes are still kept', async () => {
    const tenancy = await fixture().make({ stats: false });
    await tenancy.run('a', em => em.count(Note, {}));
    await tenancy.listTenants();
    const { tenants } = tenancy.stats();
    expect(tenants.topByQueryTime).to.deep.equal([]);
    expect(tenants.topBySize.map(row => row.tenantId)).to.deep.equal(['a']);
  });

  it('top tenants by size as last measured (listTenants(), opens), largest first', async () => {
    const tenancy = await fixture().make();
    await tenancy.run('small', em => em.count(Note, {}));
    await tenancy.run('large', async em => {
      for (let i = 0; i < 200; i++) {
        em.create(Note, { text: 'x'.repeat(200) });
      }
      await em.flush();
    });
    await tenancy.listTenants();
    const sizes = tenancy.stats().tenants.topBySize;
    expect(sizes.map(row => row.tenantId)).to.deep.equal(['large', 'small']);
    expect(sizes[0]!.sizeBytes).to.be.above(sizes[1]!.sizeBytes);
  });
});

import { expect } from 'chai';
import { TenantResultCaches } from '@mikro-tenant/core';
import { MapCache } from '../../../test/fixtures/map-cache.js';


describe('TenantResultCaches', () => {
  function setup() {
    const adapter = new MapCache();
    const caches = new TenantResultCaches(() => adapter, 'app:tenant', () => 60_000);
    const keys = () => [...adapter.data.keys()].sort();
    return { adapter, caches, keys };
  }

  it('keeps one key namespace per tenant over the one adapter', async () => {
    const { caches, keys } = setup();
    const a = caches.forTenant('a');
    const b = caches.forTenant('b');
    await a.set('k', ['a rows'], '');
    await b.set('k', ['b rows'], '');
    expect(await a.get('k')).to.deep.equal(['a rows']);
    expect(await b.get('k')).to.deep.equal(['b rows']);
    expect(keys()).to.deep.equal(['app:tenant:a:k', 'app:tenant:b:k']);
    await a.remove('k');
    expect(await a.get('k')).to.equal(undefined);
    expect(await b.get('k')).to.deep.equal(['b rows']);
  });

  it('clear() and drop() remove one tenant\'s entries, never another\'s', async () => {
    const { caches, keys } = setup();
    const a = caches.forTenant('a');
    await a.set('x', 1, '');
    await a.set('y', 2, '');
    await caches.forTenant('b').set('x', 3, '');
    await a.clear();
    expect(keys()).to.deep.equal(['app:tenant:b:x']);
    await caches.forTenant('a').set('z', 4, '');
    await caches.drop('a');
    expect(keys()).to.deep.equal(['app:tenant:b:x']);
    expect(caches.written('a')).to.deep.equal([]);
  });

  it('forgets keys once they expired, so keys never read again do not pile up', async () => {
    const counting = new MapCache();
    const caches = new TenantResultCaches(() => counting, 'app:tenant', () => 60_000);
    const a = caches.forTenant('a');
    // The clock stands still while the keys are written, so how many expire on the way does not depend on
    // how fast this machine runs the loops (under load some of the short ones expired mid-loop).
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    try {
      for (let i = 0; i < 500; i++) {
        await a.set(`short ${i}`, i, '', 1);
      }
      now += 5;
      for (let i = 0; i < 200; i++) {
        await a.set(`long ${i}`, i, '', 60_000);
      }
      expect(caches.written('a')).to.have.length(200);
      // drop() removes every key still remembered: the 500 expired ones were swept on the way.
      await caches.drop('a');
    } finally {
      Date.now = realNow;
    }
    expect(counting.removed).to.equal(200);
  });
});

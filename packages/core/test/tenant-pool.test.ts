import { expect } from 'chai';
import { TenantPool, TenantError } from '@mikro-tenant/core';

interface FakeHandle { id: string; closed: boolean }

function makePool(maxOpen: number) {
  const opened: string[] = [];
  const closed: string[] = [];
  const pool = new TenantPool<FakeHandle>(maxOpen, {
    open: async id => {
      opened.push(id);
      await new Promise(resolve => setTimeout(resolve, 2));
      return { id, closed: false };
    },
    close: async handle => {
      handle.closed = true;
      closed.push(handle.id);
    },
  });
  return { pool, opened, closed };
}

describe('TenantPool', () => {
  it('opens a tenant once for concurrent first acquisitions', async () => {
    const { pool, opened } = makePool(3);
    const leases = await Promise.all(Array.from({ length: 20 }, () => pool.acquire('a')));
    expect(opened).to.deep.equal(['a']);
    expect(new Set(leases.map(l => l.handle)).size).to.equal(1);
    expect(pool.leases('a')).to.equal(20);
    leases.forEach(l => l.release());
    expect(pool.leases('a')).to.equal(0);
  });

  it('closes the least recently used idle tenant beyond maxOpen', async () => {
    const { pool, closed } = makePool(2);
    for (const id of ['a', 'b']) {
      (await pool.acquire(id)).release();
    }
    (await pool.acquire('a')).release(); // a is now more recent than b
    (await pool.acquire('c')).release();
    await new Promise(resolve => setTimeout(resolve, 5));
    expect(closed).to.deep.equal(['b']);
    expect(pool.openTenants()).to.deep.equal(['a', 'c']);
  });

  it('opens each tenant once when more tenants than maxOpen are acquired at once (a tenant opened for a waiting acquire is not evicted before it is leased)', async () => {
    // Opens that complete in one turn of the event loop (as real ones finishing together do).
    let go!: () => void;
    const gate = new Promise<void>(resolve => { go = resolve; });
    const opened: string[] = [];
    const closed: string[] = [];
    const pool = new TenantPool<FakeHandle>(2, {
      open: async id => {
        opened.push(id);
        await gate;
        return { id, closed: false };
      },
      close: async handle => {
        handle.closed = true;
        closed.push(handle.id);
      },
    });
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const acquiring = Promise.all(ids.map(id => pool.acquire(id)));
    go();
    const leases = await acquiring;
    expect(opened).to.have.lengthOf(20);
    expect(closed).to.deep.equal([]);
    expect(leases.every(l => !l.handle.closed)).to.equal(true);
    leases.forEach(l => l.release());
    expect(pool.size).to.equal(2);
  });

  it('never closes a leased tenant, grows past maxOpen while all are leased, and shrinks back after', async () => {
    const { pool, closed } = makePool(2);
    const a = await pool.acquire('a');
    const b = await pool.acquire('b');
    const c = await pool.acquire('c');
    expect(pool.size).to.equal(3);
    expect(closed).to.deep.equal([]);
    expect(a.handle.closed || b.handle.closed || c.handle.closed).to.equal(false);
    a.release();
    await new Promise(resolve => setTimeout(resolve, 5));
    expect(closed).to.deep.equal(['a']);
    expect(pool.size).to.equal(2);
    b.release();
    c.release();
  });

  it('makes acquisitions wait while a tenant is retired, then reopens it', async () => {
    const { pool, opened, closed } = makePool(2);
    const lease = await pool.acquire('a');
    let removed = false;
    const retiring = pool.retire('a', 1000, async () => { removed = true; });
    const next = pool.acquire('a');
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(closed).to.deep.equal([]); // waits for the lease
    lease.release();
    await retiring;
    expect(closed).to.deep.equal(['a']);
    expect(removed).to.equal(true);
    const again = await next;
    expect(opened).to.deep.equal(['a', 'a']);
    expect(again.handle.closed).to.equal(false);
    again.release();
  });

  it('refuses acquisitions after close()', async () => {
    const { pool, closed } = makePool(2);
    (await pool.acquire('a')).release();
    await pool.close();
    expect(closed).to.deep.equal(['a']);
    const error = await pool.acquire('a').then(() => undefined, (e: unknown) => e);
    expect(error).to.have.property('code', 'ERR_TENANCY_CLOSED');
  });

  it('tryAcquire() leases an open tenant at once and marks it used; undefined for one not open or being retired; refused after close()', async () => {
    const { pool, closed } = makePool(2);
    expect(pool.tryAcquire('a')).to.equal(undefined);
    for (const id of ['a', 'b']) {
      (await pool.acquire(id)).release();
    }
    const lease = pool.tryAcquire('a')!;
    expect(lease.handle.id).to.equal('a');
    expect(pool.leases('a')).to.equal(1);
    lease.release();
    (await pool.acquire('c')).release(); // evicts b: the lease made a the more recent
    await new Promise(resolve => setTimeout(resolve, 5));
    expect(closed).to.deep.equal(['b']);
    const held = await pool.acquire('c');
    const retiring = pool.retire('c', 1000);
    expect(pool.tryAcquire('c')).to.equal(undefined);
    held.release();
    await retiring;
    await pool.close();
    expect(() => pool.tryAcquire('a')).to.throw(TenantError).with.property('code', 'ERR_TENANCY_CLOSED');
  });

  it('rejects a maxOpen that is not a positive integer', () => {
    expect(() => new TenantPool(0, { open: async () => 1, close: async () => undefined })).to.throw(TenantError);
  });
});

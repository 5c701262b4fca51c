import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { EntityManager } from '@mikro-orm/core';
import type { AbstractTenancy, TenancyEvent } from '@mikro-tenant/core';
import { Note } from '../fixtures/entities.js';
import { errorOf } from '../helpers.js';
import { forEachStrategy } from './fixture.js';

const LIMIT = 128 * 1024;

/** Notes per write. */
const BATCH = 16;

/** Incompressible text (the fixture's column holds 255 characters). */
function blob(): string {
  return randomBytes(120).toString('hex');
}

/** Writes batches of notes (about 4 KiB each) until a write fails or `max` succeeded; resolves how many were written and the error. */
async function fill(tenancy: AbstractTenancy<EntityManager>, tenantId: string, max = 400): Promise<{ written: number; error?: Error & { code?: string } }> {
  for (let written = 0; written < max; written++) {
    const error = await errorOf(() => tenancy.run(tenantId, async em => {
      for (let i = 0; i < BATCH; i++) {
        em.create(Note, { text: blob() });
      }
      await em.flush();
    }));
    if (error) {
      return { written, error };
    }
  }
  return { written: max };
}

forEachStrategy('quotas', fixture => {
  it('a tenant writing past its quota gets ERR_TENANT_QUOTA_EXCEEDED and one event per refusal; its data stays readable and deletable; others write on', async () => {
    const events: TenancyEvent[] = [];
    const tenancy = await fixture().make({ quota: { maxBytes: LIMIT, checkIntervalMs: 0 }, subscribers: [{ tenantQuotaExceeded: e => { events.push(e); } }] });
    const { written, error } = await fill(tenancy, 'small');
    expect(error, 'the quota never refused a write').to.have.property('code', 'ERR_TENANT_QUOTA_EXCEEDED');
    expect(error).to.have.property('tenantId', 'small');
    expect(written).to.be.above(10);
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({ type: 'tenantQuotaExceeded', tenantId: 'small', limitBytes: LIMIT });
    // Every write that succeeded is there, in full; the refused one left nothing.
    expect(await tenancy.run('small', em => em.count(Note, {}))).to.equal(written * BATCH);
    const texts = await tenancy.run('small', em => em.find(Note, {}, { fields: ['text'] }));
    expect(texts.every(note => note.text.length === 240)).to.equal(true);
    // Another tenant is not limited by it (it has the same quota, and is empty).
    expect((await fill(tenancy, 'other', 10)).error).to.equal(undefined);
    // Deleting is always allowed.
    await tenancy.run('small', em => em.nativeDelete(Note, {}));
    expect(await tenancy.run('small', em => em.count(Note, {}))).to.equal(0);
  });

  it('a per-tenant quota from a function: a paying tenant gets more, undefined means none', async () => {
    const asked: string[] = [];
    const tenancy = await fixture().make({
      quota: { maxBytes: async id => { asked.push(id); return id === 'free' ? LIMIT : id === 'paying' ? 4 * LIMIT : undefined; }, checkIntervalMs: 0 },
    });
    const free = await fill(tenancy, 'free');
    expect(free.error).to.have.property('code', 'ERR_TENANT_QUOTA_EXCEEDED');
    const paying = await fill(tenancy, 'paying', free.written + 20);
    expect(paying.error).to.equal(undefined);
    expect((await fill(tenancy, 'unlimited', free.written + 20)).error).to.equal(undefined);
    expect(asked.sort()).to.deep.equal(['free', 'paying', 'unlimited']);
  });

  it('a bad per-tenant answer fails the open with ERR_INVALID_OPTION; a bad quota option fails init', async () => {
    const tenancy = await fixture().make({ quota: { maxBytes: () => -1 } });
    expect(await errorOf(() => tenancy.run('a', em => em.count(Note, {})))).to.have.property('code', 'ERR_INVALID_OPTION');
    for (const quota of [{ maxBytes: 0 }, { maxBytes: '1mb' }, { maxBytes: 1, checkIntervalMs: -1 }, { max: 1 }, 5]) {
      expect(await errorOf(() => fixture().make({ quota: quota as never })), JSON.stringify(quota)).to.have.property('code', 'ERR_INVALID_OPTION');
    }
  });

  it('quota off by default: nothing is limited', async () => {
    const tenancy = await fixture().make();
    expect((await fill(tenancy, 'a', 80)).error).to.equal(undefined);
  });
});

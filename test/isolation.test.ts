import { expect } from 'chai';
import { wrap } from '@mikro-orm/core';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag } from './fixtures/entities.js';
import { makeTenancy, tempDir, tick } from './helpers.js';

describe('isolation: tenants never see each other\'s rows', () => {
  let tenancy: SqliteTenancy;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir, { maxOpen: 4 });
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('keeps rows apart under interleaved async work (more tenants than maxOpen)', async () => {
    const tenants = Array.from({ length: 12 }, (_, i) => `t${i}`);
    let mismatches = 0;
    const work = tenants.flatMap(id => Array.from({ length: 5 }, (_, round) => tenancy.run(id, async em => {
      await tick(Math.random() * 3);
      em.create(Tag, { label: `${id}:${round}` });
      await tick(Math.random() * 3);
      await em.flush();
      await tick(Math.random() * 3);
      // tenancy.em must resolve to this tenant's scope even after the awaits above
      const labels = (await tenancy.em.find(Tag, {})).map(t => t.label);
      mismatches += labels.filter(label => !label.startsWith(`${id}:`)).length;
    })));
    await Promise.all(work);
    expect(mismatches).to.equal(0);
    for (const id of tenants) {
      const count = await tenancy.run(id, em => em.count(Tag, {}));
      expect(count, id).to.equal(5);
    }
    expect(tenancy.openTenants).to.be.at.most(4);
  });

  it('entities loaded in one tenant stay bound to that tenant inside another tenant\'s scope', async () => {
    await tenancy.run('a', async em => {
      em.create(Note, { text: 'only in a' });
      await em.flush();
    });
    const note = await tenancy.run('a', em => em.findOneOrFail(Note, { text: 'only in a' }));
    await tenancy.run('b', async () => {
      expect(await tenancy.em.find(Note, {})).to.have.length(0);
      const boundEm = wrap(note, true).__em!;
      expect((await boundEm.find(Note, {})).map(n => n.text)).to.deep.equal(['only in a']);
      note.text = 'edited from b scope';
      await boundEm.flush();
    });
    expect(await tenancy.run('a', em => em.count(Note, { text: 'edited from b scope' }))).to.equal(1);
    expect(await tenancy.run('b', em => em.count(Note, {}))).to.equal(0);
  });
});

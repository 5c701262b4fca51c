import { expect } from 'chai';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Tag } from './fixtures/entities.js';
import { makeTenancy, tempDir } from './helpers.js';

/** Every tenant id, read page by page. */
async function readInPages(tenancy: SqliteTenancy, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  for (let after: string | undefined; ;) {
    const page = await tenancy.listTenants({ after, limit });
    if (page.length === 0) {
      return pages;
    }
    expect(page.length).to.be.at.most(limit);
    pages.push(page.map(t => t.tenantId));
    after = page.at(-1)!.tenantId;
  }
}

describe('listTenants pages', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-pages'));
  });

  afterEach(() => cleanup());

  it('read every tenant once in id order, rows still queued by first requests included', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      const ids = Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, '0')}`);
      for (const id of ids.filter((_, i) => i % 2 === 0)) {
        await tenancy.createTenant(id);
      }
      // Created by their first request: the rows are queued, written a moment later.
      await Promise.all(ids.filter((_, i) => i % 2 === 1).map(id => tenancy.run(id, em => em.count(Tag, {}))));
      expect(tenancy.registry.queued).to.be.greaterThan(0);
      const pages = await readInPages(tenancy, 5);
      expect(pages.map(p => p.length)).to.deep.equal([5, 5, 5, 5, 3]);
      expect(pages.flat()).to.deep.equal(ids);
      await tenancy.registry.flush();
      expect((await readInPages(tenancy, 4)).flat()).to.deep.equal(ids);
      expect((await tenancy.listTenants()).map(t => t.tenantId)).to.deep.equal(ids);
      const [first] = await tenancy.listTenants({ after: 't04', limit: 1 });
      expect(first).to.include({ tenantId: 't05' });
      expect(first!.sizeBytes).to.be.greaterThan(0);
      expect(await tenancy.listTenants({ after: 't22' })).to.deep.equal([]);
    } finally {
      await tenancy.close();
    }
  });

  it('refuses a page that is not { after: string, limit: a positive whole number } before reading anything', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      for (const page of [{ limit: 0 }, { limit: -1 }, { limit: 1.5 }, { limit: '5' }, { limit: Number.NaN }, { after: 5 }, { after: null }, 'x']) {
        const error = await tenancy.listTenants(page as never).then(() => undefined, (e: unknown) => e);
        expect(error, JSON.stringify(page)).to.have.property('code', 'ERR_INVALID_OPTION');
        const viaRegistry = await tenancy.registry.list(page as never).then(() => undefined, (e: unknown) => e);
        expect(viaRegistry, JSON.stringify(page)).to.have.property('code', 'ERR_INVALID_OPTION');
      }
    } finally {
      await tenancy.close();
    }
  });
});

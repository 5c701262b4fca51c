import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { Tag } from '../fixtures/entities.js';
import { makeTenancy, tempDir, tick } from '../helpers.js';
import { report, size } from './support.js';

describe('reliability: a tenant deleted while requests are in flight', function () {
  this.timeout(60_000);

  it('in-flight work finishes or fails with a coded error; no file remains; no stale data comes back', async () => {
    const { dir, cleanup } = tempDir('mt-del');
    const tenancy = await makeTenancy(dir, { deleteGraceMs: 200 });
    try {
      await tenancy.run('victim', async em => {
        em.create(Tag, { label: 'old data' });
        await em.flush();
      });
      const inFlight = size(40, 200);
      let finished = 0;
      const codes: string[] = [];
      const work = Array.from({ length: inFlight }, async (_, i) => {
        await tick(i % 10 === 0 ? 0 : Math.random() * 20);
        try {
          await tenancy.run('victim', async em => {
            await tick(i % 10 === 0 ? 400 : Math.random() * 20); // a few outlive the grace period
            em.create(Tag, { label: `w${i}` });
            await em.flush();
          });
          finished++;
        } catch (error) {
          codes.push((error as { code?: string }).code ?? `uncoded: ${(error as Error).message}`);
        }
      });
      await tick(10);
      const deleted = await tenancy.deleteTenant('victim');
      const file = tenancy.files.path('victim');
      const leftAfterDelete = ['', '-wal', '-shm', '-journal'].filter(s => existsSync(file + s));
      await Promise.all(work);
      report('delete while in use', { inFlight, finished, failedWithCode: codes.length, codes: [...new Set(codes)].join('|') || 'none', leftAfterDelete: leftAfterDelete.length });
      expect(deleted).to.equal(true);
      expect(leftAfterDelete).to.deep.equal([]);
      expect(codes.filter(code => code !== 'ERR_TENANT_DELETED')).to.deep.equal([]);
      expect(codes.length, 'work outliving the grace period fails with ERR_TENANT_DELETED').to.be.greaterThan(0);
      expect(finished + codes.length).to.equal(inFlight);
      // Work that started after the delete got a fresh database: the old rows never come back.
      const labels = await tenancy.run('victim', async em => (await em.find(Tag, {})).map(t => t.label));
      expect(labels).to.not.include('old data');
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

import { expect } from 'chai';
import { Tag } from '../fixtures/entities.js';
import { makeTenancy, tempDir, tick } from '../helpers.js';
import { report, size } from './support.js';

describe('reliability: eviction storm', function () {
  this.timeout(size(60_000, 600_000));

  it('maxOpen 5 with many tenants under concurrent load: no error from a closed connection', async () => {
    const { dir, cleanup } = tempDir('mt-storm');
    const tenants = size(100, 500);
    const requests = size(1500, 20_000);
    const concurrency = 50;
    const tenancy = await makeTenancy(dir, { maxOpen: 5 });
    try {
      let next = 0;
      let errors = 0;
      let mismatches = 0;
      const firstErrors: string[] = [];
      let peakOpen = 0;
      const worker = async () => {
        while (next < requests) {
          const id = `s${Math.floor(Math.random() * tenants)}`;
          next++;
          try {
            await tenancy.run(id, async em => {
              em.create(Tag, { label: id });
              await tick(Math.random() * 2);
              await em.flush();
              peakOpen = Math.max(peakOpen, tenancy.openTenants);
              await tick(Math.random() * 2);
              const labels = (await tenancy.em.find(Tag, {})).map(t => t.label);
              mismatches += labels.filter(label => label !== id).length;
            });
          } catch (error) {
            errors++;
            if (firstErrors.length < 3) {
              firstErrors.push(`${(error as { code?: string }).code} ${(error as Error).message}`);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      await tick(20);
      report('eviction storm', { tenants, requests, concurrency, maxOpen: 5, errors, mismatches, peakOpen, openAfter: tenancy.openTenants });
      expect(firstErrors).to.deep.equal([]);
      expect(errors).to.equal(0);
      expect(mismatches).to.equal(0);
      expect(tenancy.openTenants).to.be.at.most(5);
      expect(tenancy.stats().opened).to.be.greaterThan(tenants); // the pool really churned
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Note } from '../fixtures/entities.js';
import { twoMigrations } from '../fixtures/migrations.js';
import { makeTenancy, tempDir } from '../helpers.js';
import { inspectTenantFile, report, size, startChild } from './support.js';

describe('reliability: processes SIGKILLed while provisioning', function () {
  this.timeout(size(90_000, 600_000));

  it('leaves every tenant either without a file or fully migrated, and the next access succeeds', async () => {
    const { dir, cleanup } = tempDir('mt-kill');
    try {
      const setup = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
      await setup.close();
      const children = size(8, 50);
      const ids = Array.from({ length: 300 }, (_, i) => `k${i}`);
      const parallel = 2;
      for (let start = 0; start < children; start += parallel) {
        const batch = Array.from({ length: Math.min(parallel, children - start) }, (_, i) => {
          const mode = (start + i) % 2 === 0 ? 'template' : 'migrate';
          // Each child walks the ids from a different offset, so kills land on fresh tenants.
          const offset = Math.floor(Math.random() * ids.length);
          const order = [...ids.slice(offset), ...ids.slice(0, offset)];
          return startChild([dir, 'provision', order.join(','), mode]);
        });
        await Promise.all(batch.map(async child => {
          await child.ready;
          await new Promise(resolve => setTimeout(resolve, 30 + Math.random() * 400));
          child.kill();
          const result = await child.done;
          expect(result.signal === 'SIGKILL' || result.code === 0, result.stderr).to.equal(true);
        }));
      }
      const tenantsDir = join(dir, 'tenants');
      const files = readdirSync(tenantsDir).filter(name => name.endsWith('.sqlite3'));
      const broken = files.map(name => ({ name, ...inspectTenantFile(join(tenantsDir, name), twoMigrations.map(m => m.name)) }))
        .filter(result => !result.ok);
      const leftovers = readdirSync(join(tenantsDir, '.mikro-tenant', 'tmp')).length;
      report('kill during provisioning', { children, tenantFiles: files.length, halfBuilt: broken.length, tmpLeftovers: leftovers });
      expect(broken).to.deep.equal([]);
      expect(files.length).to.be.greaterThan(0);

      const next = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
      try {
        for (const id of ids.slice(0, Math.min(ids.length, files.length + 20))) {
          expect(await next.run(id, em => em.count(Note, {})), id).to.equal(0);
        }
        expect(readdirSync(join(tenantsDir, '.mikro-tenant', 'tmp'))).to.deep.equal([]);
        const templates = readdirSync(join(tenantsDir, '.mikro-tenant')).filter(n => n.startsWith('template-'));
        for (const template of templates) {
          expect(inspectTenantFile(join(tenantsDir, '.mikro-tenant', template), twoMigrations.map(m => m.name)).ok, template).to.equal(true);
        }
        expect(existsSync(next.files.path(ids[0]!))).to.equal(true);
      } finally {
        await next.close();
      }
    } finally {
      cleanup();
    }
  });
});

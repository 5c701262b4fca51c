import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { errorOf, makeTenancy, tempDir } from './helpers.js';

describe('pendingMigrations() writes nothing', () => {
  it('refuses a missing tenant with ERR_TENANT_NOT_FOUND instead of creating it, also with autoCreate on', async () => {
    const { dir, cleanup } = tempDir('mt-pending');
    const tenancy = await makeTenancy(dir);
    try {
      expect(await errorOf(() => tenancy.pendingMigrations('ghost'))).to.have.property('code', 'ERR_TENANT_NOT_FOUND');
      expect(await tenancy.tenantExists('ghost')).to.equal(false);
      expect(existsSync(join(dir, 'tenants', 'tenant_ghost.sqlite3'))).to.equal(false);
      expect(await tenancy.listTenants()).to.deep.equal([]);
      await tenancy.createTenant('real');
      expect(await tenancy.pendingMigrations('real')).to.deep.equal([]);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

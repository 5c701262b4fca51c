import { existsSync } from 'node:fs';
import { expect } from 'chai';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Tag, User } from './fixtures/entities.js';
import { createSharedSchema, errorOf, makeTenancy, tempDir } from './helpers.js';

function sideFiles(path: string): string[] {
  return ['', '-wal', '-shm', '-journal'].map(s => path + s).filter(existsSync);
}

// A user deleting their own account: the deletion is asked for inside the tenant's own run(), which holds
// the tenant's lease. Waiting for that lease there waited on itself for the whole grace period.
describe('deleting a tenant from inside its own run()', () => {
  const GRACE_MS = 3000;
  let dir: string;
  let cleanup: () => void;
  let tenancy: SqliteTenancy;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    tenancy = await makeTenancy(dir, { tenantEntity: User, deleteOnTenantDelete: true, deleteGraceMs: GRACE_MS });
    await createSharedSchema(tenancy);
    await tenancy.orm.em.fork().insertMany(User, [{ id: 'carol', name: 'Carol' }, { id: 'dora', name: 'Dora' }]);
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('removing its own tenant entity does not wait the grace period, the run completes, and the files go when it settles', async () => {
    const file = tenancy.files.path('carol');
    const started = Date.now();
    const count = await tenancy.run('carol', async em => {
      const shared = tenancy.orm.em;
      shared.remove(await shared.findOneOrFail(User, 'carol'));
      await shared.flush();
      expect(Date.now() - started, 'flush() waited on its own lease').to.be.lessThan(GRACE_MS / 2);
      em.create(Tag, { label: 'last words' });
      await em.flush();
      expect(existsSync(file)).to.equal(true);
      return em.count(Tag, {});
    });
    expect(count).to.equal(1);
    expect(Date.now() - started).to.be.lessThan(GRACE_MS / 2);
    expect(sideFiles(file)).to.deep.equal([]);
    expect(await tenancy.registry.exists('carol')).to.equal(false);
  });

  it('deleteTenant() of the current tenant resolves at once and deletes when the run settles, also from a nested run and when the run fails', async () => {
    const started = Date.now();
    await tenancy.run('carol', async () => {
      await tenancy.run('dora', async em => {
        expect(await tenancy.deleteTenant('carol')).to.equal(true);
        expect(await tenancy.deleteTenant('dora')).to.equal(true);
        em.create(Tag, { label: 'still mine' });
        await em.flush();
      });
      expect(existsSync(tenancy.files.path('dora')), 'deleted when its run settled').to.equal(false);
      expect(existsSync(tenancy.files.path('carol')), 'kept while its outer run goes on').to.equal(true);
    });
    expect(sideFiles(tenancy.files.path('carol'))).to.deep.equal([]);
    expect(Date.now() - started).to.be.lessThan(GRACE_MS / 2);

    await tenancy.run('failing', async () => undefined);
    const error = await errorOf(() => tenancy.run('failing', async () => {
      await tenancy.deleteTenant('failing');
      throw new Error('the run failed after asking');
    }));
    expect(error?.message).to.equal('the run failed after asking');
    expect(sideFiles(tenancy.files.path('failing'))).to.deep.equal([]);
  });

  it('other work on the tenant still gets the grace period; the own run does not wait for it', async () => {
    const started = Date.now();
    let release!: () => void;
    const gate = new Promise<void>(resolve => { release = resolve; });
    const other = tenancy.run('carol', async em => {
      await gate;
      return em.count(Tag, {});
    });
    const own = tenancy.run('carol', async () => {
      await tenancy.deleteTenant('carol');
    });
    setTimeout(release, 100);
    await own;
    expect(Date.now() - started).to.be.lessThan(GRACE_MS / 2);
    expect(await other).to.equal(0);
    expect(sideFiles(tenancy.files.path('carol'))).to.deep.equal([]);
  });
});

import { existsSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { Note, Tag, User } from './fixtures/entities.js';
import { createSharedSchema, errorOf, makeTenancy, tempDir, warningCollector } from './helpers.js';

function sideFiles(path: string): string[] {
  return ['', '-wal', '-shm', '-journal'].map(s => path + s).filter(existsSync);
}


describe('deleting tenants', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(() => cleanup());

  it('deleteTenant() removes the database, its -wal/-shm files and the registry row', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('doomed', async em => {
        em.create(Tag, { label: 'x' });
        await em.flush();
      });
      const file = tenancy.files.path('doomed');
      // the connection is still open (in the pool), so WAL mode keeps -wal and -shm next to the file
      expect(sideFiles(file)).to.include.members([file, `${file}-wal`, `${file}-shm`]);
      expect(await tenancy.deleteTenant('doomed')).to.equal(true);
      expect(sideFiles(file)).to.deep.equal([]);
      expect(await tenancy.registry.exists('doomed')).to.equal(false);
      expect(await tenancy.deleteTenant('doomed')).to.equal(false);
      // the next access provisions a fresh, empty database (no stale rows come back)
      expect(await tenancy.run('doomed', em => em.count(Tag, {}))).to.equal(0);
    } finally {
      await tenancy.close();
    }
  });

  it('removes a stale -wal left next to a deleted database so it can never be replayed into a new one', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('w', async () => undefined);
      await tenancy.close();
      const file = tenancy.files.path('w');
      writeFileSync(`${file}-wal`, 'stale');
      const again = await makeTenancy(dir);
      expect(await again.deleteTenant('w')).to.equal(true);
      expect(sideFiles(file)).to.deep.equal([]);
      await again.close();
    } finally {
      await tenancy.close().catch(() => undefined);
    }
  });

  it('waits for in-flight work on the tenant before deleting it', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      let release!: () => void;
      const gate = new Promise<void>(resolve => { release = resolve; });
      let entered!: () => void;
      const inside = new Promise<void>(resolve => { entered = resolve; });
      const inFlight = tenancy.run('busy', async em => {
        entered();
        await gate;
        em.create(Tag, { label: 'late write' });
        await em.flush();
        return em.count(Tag, {});
      });
      // Provisioning 'busy' (and the template first) can take longer than any fixed wait on a busy machine.
      await inside;
      const deletion = tenancy.deleteTenant('busy');
      await new Promise(resolve => setTimeout(resolve, 20));
      expect(existsSync(tenancy.files.path('busy'))).to.equal(true);
      release();
      expect(await inFlight).to.equal(1);
      expect(await deletion).to.equal(true);
      expect(sideFiles(tenancy.files.path('busy'))).to.deep.equal([]);
    } finally {
      await tenancy.close();
    }
  });

  describe('the deletion subscriber on the tenant entity', () => {
    it('deletes the database after em.remove(user) + flush when deleteOnTenantDelete is on', async () => {
      const tenancy = await makeTenancy(dir, { tenantEntity: User, deleteOnTenantDelete: true });
      try {
        await createSharedSchema(tenancy);
        const em = tenancy.orm.em.fork();
        const user = em.create(User, { id: 'carol', name: 'Carol' });
        await em.flush();
        await tenancy.run('carol', async tem => {
          tem.create(Note, { text: 'mine', author: 'carol' });
          await tem.flush();
        });
        em.remove(user);
        await em.flush();
        expect(sideFiles(tenancy.files.path('carol'))).to.deep.equal([]);
        expect(await tenancy.registry.exists('carol')).to.equal(false);
      } finally {
        await tenancy.close();
      }
    });

    it('keeps the database when the transaction that removed the user rolls back', async () => {
      const { warn, warnings } = warningCollector();
      const tenancy = await makeTenancy(dir, { tenantEntity: User, deleteOnTenantDelete: true, warn });
      try {
        await createSharedSchema(tenancy);
        await tenancy.orm.em.fork().insert(User, { id: 'dave', name: 'Dave' });
        await tenancy.run('dave', async () => undefined);
        const aborted = await errorOf(() => tenancy.orm.em.fork().transactional(async em => {
          em.remove(await em.findOneOrFail(User, 'dave'));
          await em.flush();
          throw new Error('abort');
        }));
        expect(aborted?.message).to.equal('abort');
        expect(existsSync(tenancy.files.path('dave'))).to.equal(true);
        // and deletes it (file and registry row) once a transaction removing the user commits
        await tenancy.orm.em.fork().transactional(async em => {
          em.remove(await em.findOneOrFail(User, 'dave'));
        });
        expect(sideFiles(tenancy.files.path('dave'))).to.deep.equal([]);
        expect(await tenancy.registry.exists('dave')).to.equal(false);
        expect(warnings).to.deep.equal([]);
      } finally {
        await tenancy.close();
      }
    });

    it('by default keeps the database and warns', async () => {
      const { warn, warnings } = warningCollector();
      const tenancy = await makeTenancy(dir, { tenantEntity: User, warn });
      try {
        await createSharedSchema(tenancy);
        const em = tenancy.orm.em.fork();
        const user = em.create(User, { id: 'erin', name: 'Erin' });
        await em.flush();
        await tenancy.run('erin', async () => undefined);
        em.remove(user);
        await em.flush();
        expect(existsSync(tenancy.files.path('erin'))).to.equal(true);
        expect(warnings.map(w => w.code)).to.deep.equal(['MIKRO_TENANT_DELETION']);
        expect(warnings[0]!.message).to.include('"erin"').and.include('kept');
      } finally {
        await tenancy.close();
      }
    });

    it('is not fired by nativeDelete (documented): deleteTenant() does it explicitly', async () => {
      const tenancy = await makeTenancy(dir, { tenantEntity: User, deleteOnTenantDelete: true });
      try {
        await createSharedSchema(tenancy);
        await tenancy.orm.em.fork().insert(User, { id: 'fay', name: 'Fay' });
        await tenancy.run('fay', async () => undefined);
        await tenancy.orm.em.fork().nativeDelete(User, { id: 'fay' });
        expect(existsSync(tenancy.files.path('fay'))).to.equal(true);
        await tenancy.deleteTenant('fay');
        expect(existsSync(tenancy.files.path('fay'))).to.equal(false);
      } finally {
        await tenancy.close();
      }
    });
  });
});

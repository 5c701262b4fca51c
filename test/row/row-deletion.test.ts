import { expect } from 'chai';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { errorOf } from '../helpers.js';
import { Project } from './fixtures.js';
import { openRowTenancy, type RowEngine, type RowFixture } from './helpers.js';

/** Every way an EntityManager reaches the tenant's rows, reading or writing. */
const PATHS: Record<string, (em: SqlEntityManager) => Promise<unknown>> = {
  find: em => em.find(Project, {}),
  count: em => em.count(Project, {}),
  'create + flush': async em => { em.create(Project, { name: 'late' }); await em.flush(); },
  insert: em => em.insert(Project, { name: 'late' }),
  upsert: em => em.upsert(Project, { id: 1_000, name: 'late' }),
  nativeUpdate: em => em.nativeUpdate(Project, {}, { name: 'late' }),
  nativeDelete: em => em.nativeDelete(Project, {}),
  'QueryBuilder select': em => em.createQueryBuilder(Project).select('*').execute(),
  'QueryBuilder insert': em => em.createQueryBuilder(Project).insert({ name: 'late' }).execute(),
  transactional: em => em.transactional(async trx => { trx.create(Project, { name: 'late' }); }),
};

/** The tenant column of every project row, seen across tenants. */
async function owners(fixture: RowFixture): Promise<string[]> {
  return fixture.tenancy.unscoped(async em => (await em.find(Project, {}, { orderBy: { id: 'asc' } })).map(p => (p as unknown as { tenantId: string }).tenantId));
}

for (const engine of ['sqlite', 'pg', 'pg-rls-only'] as RowEngine[]) {
  describe(`RowTenancy on ${engine}: EntityManagers of a deleted tenant`, function () {
    this.timeout(60_000);
    let fixture: RowFixture;
    afterEach(async () => fixture?.close());

    it('every EntityManager made before deleteTenant refuses every path (ERR_TENANT_DELETED), also once the tenant is created again, and writes no row', async () => {
      fixture = await openRowTenancy(engine, { maxOpen: 1 });
      const { tenancy } = fixture;
      const early = await tenancy.fork('gone');
      // Pushed out of the pool of 1: the deletion cannot reach it through the pool.
      await tenancy.run('other', async () => undefined);
      const late = await tenancy.fork('gone');
      const made = () => [early, late, early.fork(), late.fork({ clear: false })] as SqlEntityManager[];
      expect(await tenancy.deleteTenant('gone')).to.equal(true);
      for (const [name, path] of Object.entries(PATHS)) {
        for (const [i, em] of made().entries()) {
          expect((await errorOf(() => path(em)))?.code, `${name} on EntityManager #${i}`).to.equal('ERR_TENANT_DELETED');
        }
      }
      expect(await owners(fixture)).to.deep.equal([]);
      await tenancy.run('gone', async em => { em.create(Project, { name: 'new life' }); await em.flush(); });
      for (const [name, path] of Object.entries(PATHS)) {
        for (const [i, em] of made().entries()) {
          expect((await errorOf(() => path(em)))?.code, `${name} on EntityManager #${i} after re-creation`).to.equal('ERR_TENANT_DELETED');
        }
      }
      expect(await owners(fixture)).to.deep.equal(['gone']);
      expect(await tenancy.run('gone', em => em.count(Project, {}))).to.equal(1);
    });

    it('work holding the tenant past deleteGraceMs gets ERR_TENANT_DELETED and leaves no row', async () => {
      fixture = await openRowTenancy(engine, { deleteGraceMs: 50 });
      const { tenancy } = fixture;
      let entered!: () => void;
      const inside = new Promise<void>(resolve => { entered = resolve; });
      const slow = tenancy.run('slow', async em => {
        entered();
        await new Promise(resolve => setTimeout(resolve, 300));
        em.create(Project, { name: 'late write' });
        await em.flush();
      });
      await inside;
      expect(await tenancy.deleteTenant('slow')).to.equal(true);
      expect((await errorOf(() => slow))?.code).to.equal('ERR_TENANT_DELETED');
      expect(await owners(fixture)).to.deep.equal([]);
    });
  });
}

import { expect } from 'chai';
import { User } from '../fixtures/entities.js';
import { errorOf } from '../helpers.js';
import { schemaNames, withPgTenancy } from './helpers.js';

describe('postgres: one rule for which tenant an entity stands for (tenantIdOf)', () => {
  const fixture = withPgTenancy({ tenantEntity: User, tenantIdOf: (user: { name: string }) => user.name, deleteOnTenantDelete: true });

  it('every way in reads a user through tenantIdOf (its name), never its primary key, and the deletion subscriber deletes that tenant', async () => {
    const { tenancy, db } = fixture;
    const em = tenancy.orm.em.fork();
    const ann = em.create(User, { id: 'pk-1', name: 'ann' });
    await em.flush();
    expect(tenancy.tenantId(ann)).to.equal('ann');
    await tenancy.run(ann, async () => undefined);
    expect(await tenancy.tenantExists(ann)).to.equal(true);
    expect((await tenancy.fork(ann)).tenantId).to.equal('ann');
    expect(await tenancy.pendingMigrations(ann)).to.deep.equal([]);
    expect(await schemaNames(db)).to.deep.equal(['tenant_ann']);
    expect(await errorOf(() => tenancy.createTenant(ann))).to.have.property('code', 'ERR_TENANT_EXISTS');
    em.remove(ann);
    await em.flush();
    expect(await schemaNames(db)).to.deep.equal([]);
  });
});

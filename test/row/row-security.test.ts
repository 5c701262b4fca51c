import { expect } from 'chai';
import { errorOf } from '../helpers.js';
import { Project, Task } from './fixtures.js';
import { openRowTenancy, type RowFixture } from './helpers.js';

describe('RowTenancy on PostgreSQL: row level security', function () {
  this.timeout(60_000);
  let fixture: RowFixture;
  afterEach(async () => fixture?.close());

  it('connects as a role that is neither superuser nor BYPASSRLS, on tables with row level security forced', async () => {
    fixture = await openRowTenancy('pg');
    const conn = fixture.tenancy.orm.em.getConnection();
    const [role] = await conn.execute('select rolsuper, rolbypassrls from pg_roles where rolname = current_user');
    expect(role).to.deep.equal({ rolsuper: false, rolbypassrls: false });
    const tables = await conn.execute("select relname, relrowsecurity, relforcerowsecurity from pg_class where relname in ('project', 'task') order by relname");
    expect(tables).to.deep.equal([
      { relname: 'project', relrowsecurity: true, relforcerowsecurity: true },
      { relname: 'task', relrowsecurity: true, relforcerowsecurity: true },
    ]);
  });

  it('sets the tenant per transaction only: nothing is left on a pooled connection for its next user', async () => {
    fixture = await openRowTenancy('pg', {}, { pool: { min: 1, max: 1 } } as never);
    const { tenancy } = fixture;
    const setting = async () => (await tenancy.orm.em.getConnection().execute<{ t: string | null }[]>("select current_setting('mikro_tenant.tenant_id', true) as t"))[0]!.t;
    await tenancy.run('a', async em => {
      em.create(Project, { name: 'a' });
      await em.flush();
      await em.find(Project, {});
      await em.transactional(tx => tx.find(Task, {}));
    });
    await tenancy.unscoped(em => em.find(Project, {}));
    expect(await setting()).to.be.oneOf([null, '']);
    const allTenants = (await tenancy.orm.em.getConnection().execute<{ t: string | null }[]>("select current_setting('mikro_tenant.all_tenants', true) as t"))[0]!.t;
    expect(allTenants).to.be.oneOf([null, '']);
  });

  it('reads outside an explicit transaction see the tenant\'s rows (the setting goes with the statement)', async () => {
    fixture = await openRowTenancy('pg-rls-only');
    const { tenancy } = fixture;
    await tenancy.run('a', async em => {
      em.create(Project, { name: 'mine' });
      await em.flush();
    });
    expect(await tenancy.run('a', em => em.count(Project))).to.equal(1);
    expect(await tenancy.run('b', em => em.count(Project))).to.equal(0);
    expect(await tenancy.run('a', em => em.getConnection().execute('select name from project'))).to.have.length(0);
    expect(await tenancy.run('a', em => em.execute('select name from project'))).to.deep.equal([{ name: 'mine' }]);
  });

  it('refuses a forged tenant id in the database (WITH CHECK) with the guard off', async () => {
    fixture = await openRowTenancy('pg-rls-only');
    const error = await errorOf(() => fixture.tenancy.run('a', async em => {
      em.create(Project, { name: 'forged', tenantId: 'b' } as never);
      await em.flush();
    }));
    expect(error?.message).to.match(/row-level security/);
  });
});

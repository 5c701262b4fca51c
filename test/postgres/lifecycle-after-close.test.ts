import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { Tag } from '../fixtures/entities.js';
import { errorOf, tick } from '../helpers.js';
import { createTestDatabase, makePgTenancy, schemaNames, type TestDatabase } from './helpers.js';
import { COMMON_TENANCY_CALLS, HARMLESS_AFTER_CLOSE, expectAllRefused, methodsOf, registryCalls, type Call } from '../fixtures/closed-tenancy-calls.js';

/** Every public method of PostgresSchemaTenancy that does work, called as a user would. A new method must be added here. */
const TENANCY_CALLS: Record<string, Call<PostgresSchemaTenancy>> = {
  ...COMMON_TENANCY_CALLS,
  // The admin operations (the CLI's) go through the same gates; a backup and a restore stand for them.
  admin: async t => {
    const backup = await errorOf(() => t.admin().backup(['a'], { out: join(tmpdir(), 'mt-never-written'), force: false }, () => undefined));
    if (backup?.code !== 'ERR_TENANCY_CLOSED') {
      return backup;
    }
    return t.admin().restore('fresh', join(tmpdir(), 'mt-never-read.dump'));
  },
};

const REGISTRY_CALLS = registryCalls('tenant_new-row');

describe('postgres: a closed tenancy', () => {
  let db: TestDatabase;
  let tenancy: PostgresSchemaTenancy;

  beforeEach(async () => {
    db = await createTestDatabase();
    tenancy = await makePgTenancy(db);
    await tenancy.run('a', async em => { em.create(Tag, { label: 'kept' }); await em.flush(); });
  });

  afterEach(async () => {
    await tenancy.close();
    await db.drop();
  });

  it('the call tables name every public method of PostgresSchemaTenancy and its registry (a new method must be classified)', () => {
    expect(methodsOf(tenancy)).to.deep.equal([...Object.keys(TENANCY_CALLS), ...Object.keys(HARMLESS_AFTER_CLOSE)].sort());
    expect(methodsOf(tenancy.registry)).to.deep.equal(Object.keys(REGISTRY_CALLS).sort());
  });

  it('refuses every method, registry call and tenancy.em call after close() with ERR_TENANCY_CLOSED, and touches no schema or row', async () => {
    const fork = await tenancy.fork('a');
    await tenancy.close();
    await expectAllRefused(tenancy, TENANCY_CALLS, REGISTRY_CALLS);
    expect(await errorOf(() => fork.find(Tag, {}))).to.have.property('code', 'ERR_TENANCY_CLOSED');
    expect(await schemaNames(db)).to.deep.equal(['tenant_a']);
    expect(await db.query('select tenant_id from mikro_tenant_registry')).to.deep.equal([{ tenant_id: 'a' }]);
  });

  it('lets a deletion and a creation started before close() finish whole', async () => {
    const deleting = tenancy.deleteTenant('a');
    const creating = tenancy.createTenant('b');
    const closing = tenancy.close();
    expect(await deleting).to.equal(true);
    expect(await creating).to.include({ tenantId: 'b' });
    await closing;
    expect(await schemaNames(db)).to.deep.equal(['tenant_b']);
  });

  it('tells work still holding a tenant when close() ran that the tenancy closed', async () => {
    let release!: () => void;
    const gate = new Promise<void>(resolve => { release = resolve; });
    const running = tenancy.run('a', async em => {
      await gate;
      return em.count(Tag, {});
    });
    await tick(10);
    await tenancy.close();
    release();
    expect(await errorOf(() => running)).to.have.property('code', 'ERR_TENANCY_CLOSED');
  });
});

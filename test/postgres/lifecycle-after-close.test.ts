import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { Tag } from '../fixtures/entities.js';
import { errorOf, tick } from '../helpers.js';
import { createTestDatabase, makePgTenancy, schemaNames, type TestDatabase } from './helpers.js';

type Call<T> = (target: T) => unknown;

/** Every public method of PostgresSchemaTenancy that does work, called as a user would. A new method must be added here. */
const TENANCY_CALLS: Record<string, Call<PostgresSchemaTenancy>> = {
  fork: t => t.fork('a'),
  run: t => t.run('a', async () => 'ran'),
  createTenant: t => t.createTenant('fresh'),
  deleteTenant: t => t.deleteTenant('a'),
  tenantExists: t => t.tenantExists('a'),
  tenantUsage: t => t.tenantUsage('a'),
  listTenants: t => t.listTenants(),
  reconcile: t => t.reconcile({ fix: true }),
  pendingMigrations: t => t.pendingMigrations('a'),
  migrateTenant: t => t.migrateTenant('a'),
  // The admin operations (the CLI's) go through the same gates; a backup and a restore stand for them.
  admin: async t => {
    const backup = await errorOf(() => t.admin().backup(['a'], { out: join(tmpdir(), 'mt-never-written'), force: false }, () => undefined));
    if (backup?.code !== 'ERR_TENANCY_CLOSED') {
      return backup;
    }
    return t.admin().restore('fresh', join(tmpdir(), 'mt-never-read.dump'));
  },
};

/** Public methods allowed after close(), each with why: they touch nothing. */
const HARMLESS_AFTER_CLOSE: Record<string, string> = {
  close: 'idempotent: a second call returns the first one\'s promise',
  stats: 'in-memory counters',
  tenantId: 'pure: maps an input to an id',
};

const REGISTRY_CALLS: Record<string, Call<PostgresSchemaTenancy['registry']>> = {
  list: r => r.list(),
  get: r => r.get('a'),
  exists: r => r.exists('a'),
  register: r => r.register({ tenantId: 'new-row', location: 'tenant_new-row', schemaVersion: null }),
  registerMany: r => r.registerMany([{ tenantId: 'new-row', location: 'tenant_new-row', schemaVersion: null }]),
  unregister: r => r.unregister('a'),
  setSchemaVersion: r => r.setSchemaVersion('a', 'changed'),
  setSchemaVersions: r => r.setSchemaVersions(['a'], 'changed'),
  flush: r => r.flush(),
  ensure: r => r.ensure(),
};

const EM_CALLS: Record<string, Call<PostgresSchemaTenancy['em']>> = {
  find: em => em.find(Tag, {}),
  count: em => em.count(Tag, {}),
  insert: em => em.insert(Tag, { label: 'late' }),
  createAndFlush: async em => { em.create(Tag, { label: 'late' }); await em.flush(); },
  transactional: em => em.transactional(async trx => trx.count(Tag, {})),
  fork: em => em.fork(),
  execute: em => em.getConnection().execute('select 1'),
};

/** Public methods of `object`: those of its class and of the classes it extends (the strategy-neutral AbstractTenancy). */
function methodsOf(object: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(object) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, name)!.value === 'function') {
        names.add(name);
      }
    }
  }
  return [...names].sort();
}

async function expectAllRefused(tenancy: PostgresSchemaTenancy): Promise<void> {
  const calls: [string, () => unknown][] = [
    ...Object.entries(TENANCY_CALLS).map(([name, call]) => [`tenancy.${name}`, () => call(tenancy)] as [string, () => unknown]),
    ...Object.entries(REGISTRY_CALLS).map(([name, call]) => [`tenancy.registry.${name}`, () => call(tenancy.registry)] as [string, () => unknown]),
    ...Object.entries(EM_CALLS).map(([name, call]) => [`tenancy.em.${name}`, () => call(tenancy.em)] as [string, () => unknown]),
  ];
  const codes = await Promise.all(calls.map(async ([name, call]) => `${name}: ${(await errorOf(call))?.code ?? 'no error'}`));
  expect(codes).to.deep.equal(calls.map(([name]) => `${name}: ERR_TENANCY_CLOSED`));
}

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
    await expectAllRefused(tenancy);
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

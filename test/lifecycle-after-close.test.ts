import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Tag } from './fixtures/entities.js';
import { errorOf, makeTenancy, tempDir, tick } from './helpers.js';

type Call<T> = (target: T) => unknown;

/** Every public method of SqliteTenancy that does work, called as a user would. A new method must be added here. */
const TENANCY_CALLS: Record<string, Call<SqliteTenancy>> = {
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
  buildTemplate: t => t.buildTemplate(),
  clearTemplate: t => t.clearTemplate(),
  // The admin operations (the CLI's) go through the same gates; a backup stands for them.
  admin: t => t.admin().backup(['a'], { out: join(tmpdir(), 'mt-never-written'), force: false }, () => undefined),
};

/** Public methods allowed after close(), each with why: they touch nothing. */
const HARMLESS_AFTER_CLOSE: Record<string, string> = {
  close: 'idempotent: a second call returns the first one\'s promise',
  stats: 'in-memory counters',
  tenantId: 'pure: maps an input to an id',
};

/** Every method of `tenancy.registry`. */
const REGISTRY_CALLS: Record<string, Call<SqliteTenancy['registry']>> = {
  list: r => r.list(),
  get: r => r.get('a'),
  exists: r => r.exists('a'),
  register: r => r.register({ tenantId: 'new-row', location: 'tenant_new-row.sqlite3', schemaVersion: null }),
  registerMany: r => r.registerMany([{ tenantId: 'new-row', location: 'tenant_new-row.sqlite3', schemaVersion: null }]),
  unregister: r => r.unregister('a'),
  setSchemaVersion: r => r.setSchemaVersion('a', 'changed'),
  setSchemaVersions: r => r.setSchemaVersions(['a'], 'changed'),
  flush: r => r.flush(),
  ensure: r => r.ensure(),
};

/** `tenancy.em` used as apps use it. */
const EM_CALLS: Record<string, Call<SqliteTenancy['em']>> = {
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

/** Name, size and modification time of everything under `dir`. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map(name => {
    const stat = statSync(join(dir, name));
    return `${name} ${stat.isDirectory() ? 'dir' : stat.size} ${stat.mtimeMs}`;
  });
}

function registryRows(sharedFile: string): string[] {
  const db = new Database(sharedFile, { readonly: true });
  try {
    return (db.prepare('select tenant_id, schema_version from mikro_tenant_registry order by tenant_id').all() as { tenant_id: string; schema_version: string | null }[])
      .map(row => `${row.tenant_id}:${row.schema_version ?? ''}`);
  } finally {
    db.close();
  }
}

async function expectAllRefused(tenancy: SqliteTenancy): Promise<void> {
  const calls: [string, () => unknown][] = [
    ...Object.entries(TENANCY_CALLS).map(([name, call]) => [`tenancy.${name}`, () => call(tenancy)] as [string, () => unknown]),
    ...Object.entries(REGISTRY_CALLS).map(([name, call]) => [`tenancy.registry.${name}`, () => call(tenancy.registry)] as [string, () => unknown]),
    ...Object.entries(EM_CALLS).map(([name, call]) => [`tenancy.em.${name}`, () => call(tenancy.em)] as [string, () => unknown]),
  ];
  const codes = await Promise.all(calls.map(async ([name, call]) => `${name}: ${(await errorOf(call))?.code ?? 'no error'}`));
  expect(codes).to.deep.equal(calls.map(([name]) => `${name}: ERR_TENANCY_CLOSED`));
}

describe('a closed tenancy', () => {
  let dir: string;
  let cleanup: () => void;
  let tenancy: SqliteTenancy;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    tenancy = await makeTenancy(dir);
    await tenancy.run('a', async em => {
      em.create(Tag, { label: 'kept' });
      await em.flush();
    });
    await tenancy.buildTemplate();
    await tenancy.registry.register({ tenantId: 'ghost', location: 'tenant_ghost.sqlite3', schemaVersion: null });
    await tenancy.registry.flush();
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('the call tables below name every public method of SqliteTenancy and its registry (a new method must be classified)', () => {
    expect(methodsOf(tenancy)).to.deep.equal([...Object.keys(TENANCY_CALLS), ...Object.keys(HARMLESS_AFTER_CLOSE)].sort());
    expect(methodsOf(tenancy.registry)).to.deep.equal(Object.keys(REGISTRY_CALLS).sort());
  });

  it('refuses every method, registry call and tenancy.em call after close() with ERR_TENANCY_CLOSED, and touches no file or row', async () => {
    await tenancy.close();
    const before = snapshot(dir);
    await expectAllRefused(tenancy);
    expect(snapshot(dir)).to.deep.equal(before);
    expect(registryRows(join(dir, 'shared.sqlite3'))).to.deep.equal([`a:${tenancy.schema.version}`, 'ghost:']);
  });

  it('refuses work that starts while close() is in progress', async () => {
    const closing = tenancy.close();
    await expectAllRefused(tenancy);
    await closing;
    expect(readdirSync(join(dir, 'tenants')).filter(name => name.endsWith('.sqlite3'))).to.deep.equal(['tenant_a.sqlite3']);
  });

  it('lets a deletion and a creation started before close() finish whole', async () => {
    const deleting = tenancy.deleteTenant('a');
    const creating = tenancy.createTenant('b');
    const closing = tenancy.close();
    expect(await deleting).to.equal(true);
    expect(await creating).to.include({ tenantId: 'b' });
    await closing;
    expect(readdirSync(join(dir, 'tenants')).filter(name => name.startsWith('tenant_'))).to.deep.equal(['tenant_b.sqlite3']);
    expect(registryRows(join(dir, 'shared.sqlite3'))).to.deep.equal(['b:' + tenancy.schema.version, 'ghost:']);
  });

  it('tells work still holding a tenant when close() ran that the tenancy closed (not that it was evicted)', async () => {
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

  it('close() twice, one after the other or at once, is harmless', async () => {
    await Promise.all([tenancy.close(), tenancy.close()]);
    await tenancy.close();
    expect(await errorOf(() => tenancy.run('a', () => undefined))).to.have.property('code', 'ERR_TENANCY_CLOSED');
  });
});

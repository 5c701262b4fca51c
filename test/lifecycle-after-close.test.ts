import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Tag } from './fixtures/entities.js';
import { errorOf, makeTenancy, tempDir, tick } from './helpers.js';
import { COMMON_TENANCY_CALLS, HARMLESS_AFTER_CLOSE, expectAllRefused, methodsOf, registryCalls, type Call } from './fixtures/closed-tenancy-calls.js';

/** Every public method of SqliteTenancy that does work, called as a user would. A new method must be added here. */
const TENANCY_CALLS: Record<string, Call<SqliteTenancy>> = {
  ...COMMON_TENANCY_CALLS,
  buildTemplate: t => t.buildTemplate(),
  clearTemplate: t => t.clearTemplate(),
  // The admin operations (the CLI's) go through the same gates; a backup stands for them.
  admin: t => t.admin().backup(['a'], { out: join(tmpdir(), 'mt-never-written'), force: false }, () => undefined),
};

const REGISTRY_CALLS = registryCalls('tenant_new-row.sqlite3');

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
    await expectAllRefused(tenancy, TENANCY_CALLS, REGISTRY_CALLS);
    expect(snapshot(dir)).to.deep.equal(before);
    expect(registryRows(join(dir, 'shared.sqlite3'))).to.deep.equal([`a:${tenancy.schema.version}`, 'ghost:']);
  });

  it('refuses work that starts while close() is in progress', async () => {
    const closing = tenancy.close();
    await expectAllRefused(tenancy, TENANCY_CALLS, REGISTRY_CALLS);
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

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Tag, User } from '../fixtures/entities.js';
import { makeTenancy, tempDir } from '../helpers.js';
import { report } from './support.js';

/** Mounts a small tmpfs (needs root and CAP_SYS_ADMIN); returns undefined where the machine does not allow it. */
function mountTmpfs(path: string, sizeKb: number): (() => void) | undefined {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => execFileSync('umount', ['-l', path], { stdio: 'ignore' });
}

function remount(path: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, path], { stdio: 'ignore' });
}

async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'none';
  } catch (error) {
    return (error as { code?: string }).code ?? 'uncoded';
  }
}

async function integrity(tenancy: SqliteTenancy, id: string): Promise<string> {
  return tenancy.run(id, async em => Object.values((await em.getConnection().execute('pragma integrity_check', [], 'get')) as object)[0] as string);
}

describe('reliability: disk errors', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  let unmount: (() => void) | undefined;

  beforeEach(function () {
    ({ dir, cleanup } = tempDir('mt-disk'));
    unmount = mountTmpfs(join(dir, 'mnt'), 2048);
    if (!unmount) {
      // The scenario needs root with CAP_SYS_ADMIN to mount a tmpfs. CI must run it, so there a missing permission fails.
      if (process.env.CI) {
        throw new Error('reliability: disk errors needs to mount a tmpfs (root with CAP_SYS_ADMIN); CI must run it');
      }
      this.skip();
    }
  });

  afterEach(() => {
    try {
      unmount?.();
    } finally {
      cleanup();
    }
  });

  it('a read-only tenant folder: clear errors, nothing created, no corrupt tenant, other tenants still read', async () => {
    const before = await makeTenancy(dir, { dir: join(dir, 'mnt', 'tenants') });
    for (const id of ['a', 'b']) {
      await before.run(id, async em => {
        em.create(Tag, { label: `${id}-row` });
        await em.flush();
      });
    }
    await before.close(); // a file system with files open for writing cannot be remounted read-only
    remount(join(dir, 'mnt'), 'ro');
    const tenancy = await makeTenancy(dir, { dir: join(dir, 'mnt', 'tenants') });
    await tenancy.sharedSchema.create();
    try {
      const newTenant = await codeOf(() => tenancy.run('c', async () => undefined));
      const write = await codeOf(() => tenancy.run('a', async em => {
        em.create(Tag, { label: 'refused' });
        await em.flush();
      }));
      // SQLite in WAL mode cannot open a database whose folder is read-only (it must create -shm): a coded error, not a hang.
      const read = await codeOf(() => tenancy.run('b', em => em.count(Tag, {})));
      const shared = (await tenancy.orm.em.fork().find(User, {})).length;
      remount(join(dir, 'mnt'), 'rw');
      const files = readdirSync(join(dir, 'mnt', 'tenants')).filter(n => n.endsWith('.sqlite3'));
      report('read-only folder', { newTenant, write, read, sharedStillServes: shared === 0, files: files.length });
      expect(newTenant).to.equal('ERR_TENANT_PROVISIONING_FAILED');
      expect(write).to.equal('ERR_TENANT_OPEN_FAILED');
      expect(read).to.equal('ERR_TENANT_OPEN_FAILED');
      expect(shared).to.equal(0);
      expect(await tenancy.run('b', em => em.count(Tag, {})), 'serves again once writable').to.equal(1);
      expect(files).to.deep.equal(['tenant_a.sqlite3', 'tenant_b.sqlite3']);
      expect(await integrity(tenancy, 'a')).to.equal('ok');
      expect(await tenancy.run('a', em => em.count(Tag, {}))).to.equal(1);
      expect(await tenancy.run('c', em => em.count(Tag, {}))).to.equal(0);
    } finally {
      await tenancy.close();
    }
  });

  it('a full disk: the writer gets an error, its database stays intact, others keep serving, provisioning leaves nothing', async () => {
    const tenancy = await makeTenancy(dir, { dir: join(dir, 'mnt', 'tenants') });
    try {
      await tenancy.run('other', async em => {
        em.create(Tag, { label: 'still here' });
        await em.flush();
      });
      let written = 0;
      const fill = await codeOf(() => tenancy.run('filler', async em => {
        for (;;) {
          em.create(Tag, { label: 'x'.repeat(50_000) });
          await em.flush();
          written++;
        }
      }));
      const provision = await codeOf(() => tenancy.run('newcomer', async () => undefined));
      const otherRows = await tenancy.run('other', em => em.count(Tag, {}));
      const tmpLeft = readdirSync(join(dir, 'mnt', 'tenants', '.mikro-tenant', 'tmp')).length;
      report('full disk', { rowsBeforeFull: written, writerError: fill, provisioning: provision, otherTenantRows: otherRows, tmpLeftovers: tmpLeft });
      expect(written).to.be.greaterThan(0);
      expect(fill).to.not.equal('none');
      expect(provision).to.equal('ERR_TENANT_PROVISIONING_FAILED');
      expect(otherRows).to.equal(1);
      expect(tmpLeft).to.equal(0);
      expect(readdirSync(join(dir, 'mnt', 'tenants'))).to.not.include('tenant_newcomer.sqlite3');
      expect(await integrity(tenancy, 'filler')).to.equal('ok');
      expect(await tenancy.run('filler', em => em.count(Tag, {}))).to.equal(written);
    } finally {
      await tenancy.close();
    }
  });
});

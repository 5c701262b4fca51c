import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { SqliteTenancy, TenantFiles } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { errorOf, makeTenancy, tempDir } from './helpers.js';

/** Prefixes and suffixes around `{id}`, among them every way a suffix can end like a companion file's suffix. */
const PREFIXES = ['', 'db_', 'tenant_', 'x.', 'a-', '_', 'T'];
const SUFFIXES = [
  '', 'l', 'al', 'wal', '-wal', 'm', 'hm', 'shm', '-shm', 'nal', 'journal', '-journal', '-mj0', 'D', '_db', '-x',
  '.db', '.sqlite3', '.SQLITE', '.db-wal', '.x-shm', '.x-journal', '.l', '.', 'x.y', '.db.bak', '.-wal',
];
/** What SQLite puts after a database's name: WAL, shared memory, rollback journal, super-journal (`-mj` + hex). */
const SIDE_SUFFIXES = ['-wal', '-shm', '-journal', '-mj0A1B2C9D3'];
/** Valid tenant ids, among them ids that end like companion files. */
const IDS = ['x', 'a', '0', '7', 'acme', 'a_b', 'x-wal', 'x-shm', 'x-journal', 'x-mj0a1b2c9d3', 'wal', 'q-', 'z'.repeat(64)];

describe('tenant file names (namePattern)', () => {
  it('no id names another tenant\'s file or companion file, nor an internal file, whatever pattern is accepted', () => {
    let accepted = 0;
    let refused = 0;
    for (const prefix of PREFIXES) {
      for (const suffix of SUFFIXES) {
        const pattern = `${prefix}{id}${suffix}`;
        let files: TenantFiles;
        try {
          files = new TenantFiles('/srv/tenants', pattern);
        } catch (error) {
          expect((error as { code?: string }).code, pattern).to.equal('ERR_INVALID_OPTION');
          refused++;
          continue;
        }
        accepted++;
        for (const id of IDS) {
          const name = files.fileName(id);
          expect(files.tenantIdOf(name), `${pattern} ${id}`).to.equal(id);
          expect(dirname(files.path(id)), `${pattern} ${id}`).to.equal(files.dir);
          expect(name).to.not.equal('.mikro-tenant');
          // tenantIdOf() is exact (prefix and suffix stripped, then mapped back), so this is every id there is.
          for (const side of SIDE_SUFFIXES) {
            expect(files.tenantIdOf(name + side), `${pattern}: "${name + side}" is ${id}'s companion file`).to.equal(undefined);
            expect(files.ownerOf(name + side), `${pattern} ${name + side}`).to.equal(id);
          }
        }
        // Internal files: the folder itself, files under construction and templates are never tenant files.
        expect(files.tenantIdOf('.mikro-tenant'), pattern).to.equal(undefined);
        for (const internal of [files.tmpPath('tenant-x'), files.tmpPath('template'), join(files.internalDir, 'template-0123456789abcdef.sqlite3')]) {
          expect(internal.startsWith(`${files.internalDir}/`), internal).to.equal(true);
        }
      }
    }
    expect(accepted, 'patterns accepted').to.be.greaterThan(40);
    expect(refused, 'patterns refused').to.be.greaterThan(40);
  });

  it('refuses a pattern without an extension after {id} at init, before creating anything', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const namePattern of ['db_{id}', '{id}', 'tenant_{id}-wal', 'x.{id}', '{id}_db']) {
        const error = await errorOf(() => makeTenancy(dir, { namePattern }));
        expect(error, namePattern).to.have.property('code', 'ERR_INVALID_OPTION');
        expect(error!.message, namePattern).to.contain('tenancy.namePattern');
      }
      expect(existsSync(join(dir, 'tenants'))).to.equal(false);
    } finally {
      cleanup();
    }
  });

  it('keeps patterns with an extension working, and never lists companion files as tenants', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir, { namePattern: 'db_{id}.x' });
    try {
      await tenancy.run('x', async em => {
        em.create(Tag, { label: 'x' });
        await em.flush();
      });
      expect(existsSync(join(dir, 'tenants', 'db_x.x-wal'))).to.equal(true);
      expect(await tenancy.tenantExists('x-wal')).to.equal(false);
      expect((await tenancy.reconcile()).unregistered).to.deep.equal([]);
      await tenancy.registry.flush();
      expect(await tenancy.reconcile()).to.deep.equal({ missingFiles: [], unregistered: [] });
    } finally {
      await tenancy.close();
      cleanup();
    }
  });

  it('refuses a shared database in the tenant folder that a tenant id would name', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const init = (namePattern: string, dbName: string) => SqliteTenancy.init({
        dbName: join(dir, dbName), entities: [User], tenancy: { dir, entities: [Note, Tag], namePattern, warn: () => undefined },
      });
      for (const [namePattern, dbName] of [['{id}.sqlite3', 'shared.sqlite3'], ['{id}.db-wal', 'main.db'], ['t{id}.db', 'tmain.db-wal']]) {
        const error = await errorOf(() => init(namePattern!, dbName!));
        expect(error, `${namePattern} ${dbName}`).to.have.property('code', 'ERR_INVALID_OPTION');
        expect(existsSync(join(dir, '.mikro-tenant')), `${namePattern} ${dbName}`).to.equal(false);
      }
      const fine = await init('tenant_{id}.sqlite3', 'shared.sqlite3');
      await fine.close();
    } finally {
      cleanup();
    }
  });
});

import { existsSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SqliteTenancy, TenantFiles, resolveTenancyOptions, pragmaStatements, type SqliteTenancyOptions } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { errorOf, makeTenancy, tempDir } from './helpers.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** Wrong values for every option (types first). The test checks that this names every option there is. */
const WRONG_VALUES: Record<string, unknown[]> = {
  dir: [5, '', null, ['x'], 'a\0b'],
  entities: ['Note', [], [5], {}, null],
  tenantEntity: [5, true, {}, null],
  tenantIdOf: ['x', 5, {}],
  namePattern: [5, null, {}, 'no-id.db', 'db_{id}'],
  maxOpen: ['10', 0, 1.5, -1, NaN, null],
  template: ['yes', 1, null],
  autoCreate: ['false', 0, null],
  deleteOnTenantDelete: ['true', 1, null],
  attach: [true, 5, 'main', 'a b', null],
  pragmas: [false, 'WAL', [], null, { journal_mode: 'WAL; drop table x' }, { 'a b': 1 }, { synchronous: {} }],
  sharedPragmas: [true, 'WAL', [], null, { synchronous: 'NORMAL; drop table x' }],
  migrations: ['path', 5, {}, null, { migrationsList: 'x' }, { migrationsList: [{ name: 1 }] }, { path: 5 }, { pathh: 'x' }],
  registryTable: [5, '', 'a b', 'x;drop table y', null],
  deleteGraceMs: ['10', -1, Infinity, null],
  warn: ['console', 5, null],
  dirMode: ['700', 0o600, 0o1700, 1.5, null],
  fileMode: ['600', 0o400, 0o700, 0o4600, null],
  subscribers: [{}, 'x', [5], [{ notAnEvent() {} }], [null], null],
  quota: [true, 5, 'x', {}, { maxBytes: 0 }, { maxBytes: '1' }, { maxBytes: Infinity }, { maxBytes: 1, checkIntervalMs: -1 }, { maxBytes: 1, other: 1 }, null],
  stats: [5, true, null, [], { windowMs: 0 }, { top: 1.5 }, { top: 0 }, { other: 1 }],
  telemetry: [5, null, [], { tracerProvider: {} }, { meterProvider: 5 }, { other: 1 }],
};

describe('options', () => {
  it('refuses a wrong value of every option with ERR_INVALID_OPTION naming it (table over every option)', () => {
    const every = Object.keys(resolveTenancyOptions({ dir: 'x', entities: [Note] })).sort();
    expect(Object.keys(WRONG_VALUES).sort(), 'the table names every option').to.deep.equal(every);
    for (const [name, values] of Object.entries(WRONG_VALUES)) {
      for (const value of values) {
        // tenantIdOf needs tenantEntity: give it, so only the wrong value is at fault.
        const options = { dir: 'x', entities: [Note], ...(name === 'tenantIdOf' ? { tenantEntity: User } : {}), [name]: value };
        let error: (Error & { code?: string }) | undefined;
        try {
          resolveTenancyOptions(options as never);
        } catch (e) {
          error = e as Error & { code?: string };
        }
        const label = `${name}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
        expect(error, label).to.have.property('code', 'ERR_INVALID_OPTION');
        expect(error!.message, label).to.contain(`"tenancy.${name}`);
      }
    }
  });

  it('refuses unknown options, naming the closest valid one', () => {
    for (const [key, closest] of [['autocreate', 'autoCreate'], ['namepattern', 'namePattern'], ['maxopen', 'maxOpen'], ['tenantIdof', 'tenantIdOf'],
      ['pragma', 'pragmas'], ['deleteGrace', 'deleteGraceMs'], ['filemode', 'fileMode'], ['entity', 'entities']]) {
      let error: (Error & { code?: string }) | undefined;
      try {
        resolveTenancyOptions({ dir: 'x', entities: [Note], [key!]: false } as never);
      } catch (e) {
        error = e as Error & { code?: string };
      }
      expect(error, key).to.have.property('code', 'ERR_INVALID_OPTION');
      expect(error!.message, key).to.contain(`"tenancy.${key}"`).and.contain(`did you mean "${closest}"?`);
    }
  });

  it('checks every option before any side effect: a bad one leaves no tenant folder and no registry table', async () => {
    const { dir, cleanup } = tempDir();
    const bad: Partial<SqliteTenancyOptions>[] = [
      { pragmas: { journal_mode: 'WAL; drop table x' } },
      { sharedPragmas: { synchronous: 'FULL; drop table x' } },
      { namePattern: 5 as never },
      { registryTable: 'a b' },
      { migrations: { path: join(dir, 'no-such-folder') } },
      { tenantEntity: 'Nobody' },
      { tenantEntity: Note },
      { tenantIdOf: 'x' as never, tenantEntity: User },
      { autocreate: false } as never,
    ];
    try {
      for (const options of bad) {
        const label = Object.entries(options).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : typeof v}`).join(', ');
        const error = await errorOf(() => makeTenancy(dir, options));
        expect(error, label).to.have.property('code', 'ERR_INVALID_OPTION');
        expect(existsSync(join(dir, 'tenants')), label).to.equal(false);
        const shared = join(dir, 'shared.sqlite3');
        if (existsSync(shared)) {
          const db = new Database(shared, { readonly: true });
          const tables = db.prepare("select name from sqlite_master where type = 'table'").all();
          db.close();
          expect(tables, label).to.deep.equal([]);
        }
      }
    } finally {
      cleanup();
    }
  });

  it('applies documented defaults', () => {
    const options = resolveTenancyOptions({ dir: 'data/tenants', entities: [Note] }, '/srv/app');
    expect(options).to.include({
      dir: '/srv/app/data/tenants', namePattern: 'tenant_{id}.sqlite3', maxOpen: 100, template: true,
      autoCreate: true, deleteOnTenantDelete: false, registryTable: 'mikro_tenant_registry',
    });
    expect(options.attach).to.equal(undefined);
    expect(Object.isFrozen(options)).to.equal(true);
  });

  it('rejects bad options eagerly with ERR_INVALID_OPTION', () => {
    const bad: object[] = [
      {}, { dir: '' }, { dir: 'x', entities: [] }, { dir: 'x', entities: [Note], maxOpen: 0 },
      { dir: 'x', entities: [Note], maxOpen: 1.5 }, { dir: 'x', entities: [Note], template: 'yes' },
      { dir: 'x', entities: [Note], attach: 'main' }, { dir: 'x', entities: [Note], attach: 'a b' },
      { dir: 'x', entities: [Note], deleteOnTenantDelete: true },
      { dir: 'x', entities: [Note], pragmas: false }, { dir: 'x', entities: [Note], sharedPragmas: 'WAL' },
    ];
    for (const options of bad) {
      expect(codeOf(() => resolveTenancyOptions(options as never)), Object.keys(options).join()).to.equal('ERR_INVALID_OPTION');
    }
    for (const pattern of ['tenant.sqlite3', '{id}{id}.db', 'sub/{id}.db', '.{id}.db', '../{id}.db', 'a b {id}']) {
      expect(codeOf(() => new TenantFiles('/tmp/x', pattern)), pattern).to.equal('ERR_INVALID_OPTION');
    }
    expect(codeOf(() => pragmaStatements({ 'journal_mode; drop table x': 'WAL' }))).to.equal('ERR_INVALID_OPTION');
    expect(codeOf(() => pragmaStatements({ journal_mode: 'WAL; drop table x' }))).to.equal('ERR_INVALID_OPTION');
  });

  it('uses a custom namePattern, and maps file names back to ids', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir, { namePattern: 'org-{id}.db' });
    try {
      await tenancy.run('acme', async () => undefined);
      expect(existsSync(join(dir, 'tenants', 'org-acme.db'))).to.equal(true);
      expect(tenancy.files.tenantIdOf('org-acme.db')).to.equal('acme');
      expect(tenancy.files.tenantIdOf('org-../x.db')).to.equal(undefined);
      expect(tenancy.files.tenantIdOf('tenant_acme.sqlite3')).to.equal(undefined);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });

  it('rejects reserved device names as file names', () => {
    const files = new TenantFiles('/tmp/x', '{id}.db');
    expect(codeOf(() => files.path('con'))).to.equal('ERR_INVALID_TENANT_ID');
    expect(codeOf(() => files.path('lpt1'))).to.equal('ERR_INVALID_TENANT_ID');
    expect(new TenantFiles('/tmp/x').path('con')).to.equal('/tmp/x/tenant_con.sqlite3');
  });

  it('sets the default pragmas on tenant connections and lets the user override them', async () => {
    const { dir, cleanup } = tempDir();
    const defaults = await makeTenancy(join(dir, 'a'));
    const custom = await makeTenancy(join(dir, 'b'), { pragmas: { journal_mode: 'DELETE', synchronous: 'FULL', cache_size: -512 } });
    try {
      const read = (t: SqliteTenancy) => t.run('p', async em => {
        const conn = em.getConnection();
        const get = async (name: string) => Object.values((await conn.execute(`pragma ${name}`, [], 'get')) as object)[0];
        return [await get('journal_mode'), await get('synchronous'), await get('busy_timeout'), await get('foreign_keys'), await get('cache_size')];
      });
      expect(await read(defaults)).to.deep.equal(['wal', 1, 5000, 1, -2000]);
      expect(await read(custom)).to.deep.equal(['delete', 2, 5000, 1, -512]);
    } finally {
      await defaults.close();
      await custom.close();
      cleanup();
    }
  });

  it('sets WAL and NORMAL sync on the shared connection by default; sharedPragmas overrides them or, with false, leaves them', async () => {
    const { dir, cleanup } = tempDir();
    let made = 0;
    const read = async (sharedPragmas?: SqliteTenancyOptions['sharedPragmas']) => {
      // A shared file out of WAL cannot be attached to tenant connections (see shared-writes.test.ts).
      const tenancy = await makeTenancy(join(dir, `t${made++}`), { sharedPragmas, ...(sharedPragmas === false ? { attach: false } : {}) });
      try {
        const conn = tenancy.orm.em.getConnection();
        const get = async (name: string) => Object.values((await conn.execute(`pragma ${name}`, [], 'get')) as object)[0];
        return [await get('journal_mode'), await get('synchronous'), await get('foreign_keys')];
      } finally {
        await tenancy.close();
      }
    };
    try {
      expect(await read()).to.deep.equal(['wal', 1, 1]);
      expect(await read({ synchronous: 'FULL' })).to.deep.equal(['wal', 2, 1]);
      // MikroORM's own: a rollback journal and full sync (MikroORM turns foreign keys on itself).
      expect(await read(false)).to.deep.equal(['delete', 2, 1]);
      const error = await makeTenancy(join(dir, 'bad'), { sharedPragmas: { synchronous: 'NORMAL; drop table x' } }).catch(e => e as Error & { code?: string });
      expect(error).to.have.property('code', 'ERR_INVALID_OPTION');
      expect((error as Error).message).to.contain('tenancy.sharedPragmas.synchronous');
    } finally {
      cleanup();
    }
  });

  it('accepts the tenant entity itself as the tenant id', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.sharedSchema.create();
      const em = tenancy.orm.em.fork();
      const user = em.create(User, { id: 'ent', name: 'Entity' });
      await em.flush();
      await tenancy.run(user, async () => undefined);
      expect(existsSync(tenancy.files.path('ent'))).to.equal(true);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });

  it('runs folder-based migrations (path) and keys the template by their names', async () => {
    const { dir, cleanup } = tempDir();
    const path = fileURLToPath(new URL('./fixtures/tenant-migrations', import.meta.url));
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User],
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], migrations: { path } },
    });
    try {
      expect(tenancy.schema.kind).to.equal('migrations');
      expect(tenancy.schema.version).to.equal('Migration20260101000000');
      await tenancy.run('folder', async em => {
        em.create(Tag, { label: 'x' });
        await em.flush();
      });
      expect(await tenancy.pendingMigrations('folder')).to.deep.equal([]);
      expect(readdirSync(path).some(name => name.startsWith('.snapshot'))).to.equal(false);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

describe('registry and reconcile', () => {
  it('survives updateSchema() of the shared ORM (the registry table is not an entity, so it is skipped)', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.createTenant('kept');
      await tenancy.sharedSchema.update();
      expect((await tenancy.registry.list()).map(r => r.tenantId)).to.deep.equal(['kept']);
      expect(await tenancy.orm.schema.getUpdateSchemaSQL()).to.equal('');
    } finally {
      await tenancy.close();
      cleanup();
    }
  });

  it('lists tenants from the registry with file size and mtime, and reconciles with the folder', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.createTenant('one');
      await tenancy.createTenant(2);
      const listed = await tenancy.listTenants();
      expect(listed.map(t => t.tenantId)).to.deep.equal(['2', 'one']);
      expect(listed[0]!.sizeBytes).to.be.greaterThan(0);
      expect(listed[0]!.modifiedAt).to.be.instanceOf(Date);
      expect(await tenancy.tenantExists('one')).to.equal(true);
      expect(await tenancy.tenantExists('zero')).to.equal(false);

      await tenancy.registry.unregister('one');
      await tenancy.registry.register({ tenantId: 'ghost', location: 'tenant_ghost.sqlite3', schemaVersion: null });
      expect(await tenancy.reconcile()).to.deep.equal({ missingFiles: ['ghost'], unregistered: ['one'] });
      await tenancy.reconcile({ fix: true });
      expect(await tenancy.reconcile()).to.deep.equal({ missingFiles: [], unregistered: [] });
      expect((await tenancy.registry.list()).map(r => r.tenantId)).to.deep.equal(['2', 'one']);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { TenantFiles, type SqliteTenancy } from '@mikro-tenant/sqlite';
import { TemplateSpares } from '../packages/sqlite/dist/template-spares.js';
import type { TemplateCache } from '../packages/sqlite/dist/template-cache.js';
import { Tag } from './fixtures/entities.js';
import { baseMigrations, twoMigrations } from './fixtures/migrations.js';
import { errorOf, makeTenancy, tempDir } from './helpers.js';
import { moduleUrl } from './orm-packages.js';

const PACKAGE_ENTRY = fileURLToPath(new URL('../packages/sqlite/dist/index.js', import.meta.url));

/** Waits (up to 5 s) until `count` spares are ready in the folder; returns their paths. */
async function sparesReady(files: TenantFiles, count: number): Promise<string[]> {
  const list = () => (existsSync(files.sparesDir) ? readdirSync(files.sparesDir).map(name => join(files.sparesDir, name)) : []);
  for (let waited = 0; waited < 5000 && list().length < count; waited += 5) {
    await new Promise(resolve => setTimeout(resolve, 5));
  }
  expect(list().length, 'spares made').to.be.at.least(count);
  return list();
}

function migrationsOf(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('select name from mikro_orm_migrations order by id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

const inode = (path: string) => statSync(path).ino;

describe('spare copies of the template', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-spares'));
  });

  afterEach(() => cleanup());

  it('become new tenants by a hard link: the spare leaves the folder, the tenant has the template\'s schema and no other tenant\'s rows', async () => {
    const tenancy = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
    try {
      await tenancy.buildTemplate();
      const spares = await sparesReady(tenancy.files, 4);
      const inodes = new Set(spares.map(inode));
      await tenancy.createTenant('a');
      expect(inodes.has(inode(tenancy.files.path('a'))), 'tenant a is one of the spares').to.equal(true);
      expect(spares.filter(existsSync)).to.have.length(3);
      await tenancy.run('a', async em => {
        em.create(Tag, { label: 'a\'s secret' });
        await em.flush();
      });
      expect(await tenancy.run('b', em => em.count(Tag, {}))).to.equal(0);
      expect(inodes.has(inode(tenancy.files.path('b'))), 'tenant b is one of the spares').to.equal(true);
      expect(migrationsOf(tenancy.files.path('b'))).to.deep.equal(twoMigrations.map(m => m.name));
      expect((await tenancy.registry.get('b'))?.schemaVersion).to.equal('Migration002NoteIndex');
    } finally {
      await tenancy.close();
    }
    expect(readdirSync(join(dir, 'tenants', '.mikro-tenant', 'spares')), 'close() removes the spares').to.deep.equal([]);
  });

  it('are not made by buildTemplate({ spares: false }) (the CLI, about to end); a wrong value is refused before anything is built', async () => {
    const tenancy = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
    try {
      for (const options of [{ spares: 'no' }, { spares: 0 }, null, 'spares']) {
        const error = await errorOf(() => tenancy.buildTemplate(options as never));
        expect(error, JSON.stringify(options)).to.have.property('code', 'ERR_INVALID_OPTION');
      }
      expect(existsSync(join(dir, 'tenants', '.mikro-tenant')) ? readdirSync(join(dir, 'tenants', '.mikro-tenant')).filter(name => name.startsWith('template-')) : [])
        .to.deep.equal([]);
      const template = await tenancy.buildTemplate({ spares: false });
      expect(existsSync(template!)).to.equal(true);
      await new Promise(resolve => setTimeout(resolve, 50));
      expect(existsSync(tenancy.files.sparesDir) ? readdirSync(tenancy.files.sparesDir) : []).to.deep.equal([]);
      await tenancy.buildTemplate();
      expect(readdirSync(tenancy.files.sparesDir)).to.have.length(4);
    } finally {
      await tenancy.close();
    }
  });

  it('never hand a tenancy with another schema the spares of the old one, even in one process and folder', async () => {
    const v1 = await makeTenancy(dir, { migrations: { migrationsList: baseMigrations } });
    let v2: SqliteTenancy | undefined;
    try {
      await v1.buildTemplate();
      const oldSpares = new Set((await sparesReady(v1.files, 4)).map(inode));
      v2 = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
      for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) {
        await v2.createTenant(id);
        expect(oldSpares.has(inode(v2.files.path(id))), id).to.equal(false);
        expect(migrationsOf(v2.files.path(id)), id).to.deep.equal(twoMigrations.map(m => m.name));
      }
      await v1.createTenant('o1');
      expect(oldSpares.has(inode(v1.files.path('o1')))).to.equal(true);
      expect(migrationsOf(v1.files.path('o1'))).to.deep.equal(['Migration001Notes']);
    } finally {
      await v1.close();
      await v2?.close();
    }
  });

  it('are thrown away by clearTemplate(), also a copy that finishes after it', async () => {
    const files = new TenantFiles(join(dir, 'tenants'));
    files.ensureDirs();
    const template = join(dir, 'template.sqlite3');
    new Database(template).close();
    let release!: (path: string) => void;
    const held = new Promise<string>(resolve => { release = resolve; });
    const spares = new TemplateSpares(files, { ensure: () => held } as unknown as TemplateCache, 'k', 2);
    spares.fill();
    // The copy under way waits for the template; the template is cleared meanwhile.
    await spares.clear();
    release(template);
    await spares.settle();
    expect(spares.ready).to.equal(0);
    expect(existsSync(files.sparesDir) ? readdirSync(files.sparesDir) : []).to.deep.equal([]);
    spares.fill();
    await spares.settle();
    expect(spares.ready).to.equal(2);
    await spares.clear();
    expect(readdirSync(files.sparesDir)).to.deep.equal([]);
  });

  it('grow after a burst finds none ready: twice as many each time, up to the maximum; never on a cold start', async () => {
    const files = new TenantFiles(join(dir, 'tenants'));
    files.ensureDirs();
    const template = join(dir, 'template.sqlite3');
    new Database(template).close();
    const spares = new TemplateSpares(files, { ensure: async () => template } as unknown as TemplateCache, 'k', 2, 8);
    const burst = async (count: number) => {
      const taken = Array.from({ length: count }, () => spares.take());
      await spares.settle();
      // A taken spare is the taker's: a tenant would link it into place.
      taken.forEach(path => path && rmSync(path));
      return taken.filter(path => path === undefined).length;
    };
    try {
      // A take before any spare was made is a cold start, not a burst: the target stays.
      expect(await burst(1)).to.equal(1);
      expect([spares.target, spares.ready]).to.deep.equal([2, 2]);
      expect(await burst(2), 'within the spares').to.equal(0);
      expect([spares.target, spares.ready]).to.deep.equal([2, 2]);
      expect(await burst(3), 'one tenant found none').to.equal(1);
      expect([spares.target, spares.ready]).to.deep.equal([4, 4]);
      expect(await burst(6)).to.equal(2);
      expect([spares.target, spares.ready]).to.deep.equal([8, 8]);
      expect(await burst(12)).to.equal(4);
      expect([spares.target, spares.ready], 'capped').to.deep.equal([8, 8]);
    } finally {
      await spares.close();
    }
    expect(readdirSync(files.sparesDir)).to.deep.equal([]);
  });

  it('left by a process that died are removed at the next start, never taken', async () => {
    const setup = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
    await setup.close();
    const script = join(dir, 'child.mjs');
    writeFileSync(script, `import { defineEntity, p } from ${JSON.stringify(moduleUrl('@mikro-orm/core'))};
import { SqliteTenancy } from ${JSON.stringify(pathToFileURL(PACKAGE_ENTRY).href)};
const Tag = defineEntity({ name: 'Tag', properties: { id: p.integer().primary().autoincrement(), label: p.string() } });
const tenancy = await SqliteTenancy.init({ dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))}, entities: [], discovery: { warnWhenNoEntities: false },
  tenancy: { dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Tag], warn: () => undefined } });
await tenancy.buildTemplate();
setInterval(() => undefined, 1000);
`);
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    const files = new TenantFiles(join(dir, 'tenants'));
    const orphans = await sparesReady(files, 4);
    child.kill('SIGKILL');
    await new Promise(resolve => child.once('exit', resolve));
    const next = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
    try {
      expect(orphans.filter(existsSync), 'removed at start').to.deep.equal([]);
      await next.createTenant('fresh');
      expect(migrationsOf(next.files.path('fresh'))).to.deep.equal(twoMigrations.map(m => m.name));
    } finally {
      await next.close();
    }
  });
});

import { existsSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { Note, Tag } from './fixtures/entities.js';
import { baseMigrations, twoMigrations } from './fixtures/migrations.js';
import { makeTenancy, tempDir, warningCollector } from './helpers.js';

function templates(internalDir: string): string[] {
  return readdirSync(internalDir).filter(n => /^template-.*\.sqlite3$/.test(n));
}

function migrationNames(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('select name from mikro_orm_migrations order by id').all() as { name: string }[]).map(r => r.name);
  } finally {
    db.close();
  }
}

describe('template database', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(() => cleanup());

  it('is built once, holds no tenant data, and new tenants are copies of it', async () => {
    const tenancy = await makeTenancy(dir, { migrations: { migrationsList: baseMigrations } });
    try {
      await tenancy.run('first', async em => {
        em.create(Tag, { label: 'secret of first' });
        await em.flush();
      });
      const built = templates(tenancy.files.internalDir);
      expect(built).to.have.length(1);
      const template = new Database(join(tenancy.files.internalDir, built[0]!), { readonly: true });
      expect((template.prepare('select count(*) as n from tag').get() as { n: number }).n).to.equal(0);
      expect(template.pragma('journal_mode', { simple: true })).to.equal('wal');
      template.close();
      expect(await tenancy.run('second', em => em.count(Tag, {}))).to.equal(0);
      expect(migrationNames(tenancy.files.path('second'))).to.deep.equal(['Migration001Notes']);
      expect((await tenancy.registry.get('second'))?.schemaVersion).to.equal('Migration001Notes');
      expect(templates(tenancy.files.internalDir)).to.deep.equal(built);
    } finally {
      await tenancy.close();
    }
  });

  it('is rebuilt when a migration is added, and the outdated one is removed', async () => {
    const v1 = await makeTenancy(dir, { migrations: { migrationsList: baseMigrations } });
    await v1.run('old', async () => undefined);
    const [oldTemplate] = templates(v1.files.internalDir);
    await v1.close();

    const v2 = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
    try {
      await v2.run('new', async () => undefined);
      const now = templates(v2.files.internalDir);
      expect(now).to.have.length(1);
      expect(now[0]).to.not.equal(oldTemplate);
      expect(migrationNames(v2.files.path('new'))).to.deep.equal(['Migration001Notes', 'Migration002NoteIndex']);
      // the existing tenant is not touched by provisioning; it has a pending migration until migrated
      expect(await v2.pendingMigrations('old')).to.deep.equal(['Migration002NoteIndex']);
      await v2.migrateTenant('old');
      expect(await v2.pendingMigrations('old')).to.deep.equal([]);
      expect((await v2.registry.get('old'))?.schemaVersion).to.equal('Migration002NoteIndex');
    } finally {
      await v2.close();
    }
  });

  it('is rebuilt from scratch after clearTemplate()', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.buildTemplate();
      expect(templates(tenancy.files.internalDir)).to.have.length(1);
      expect(await tenancy.clearTemplate()).to.equal(1);
      expect(templates(tenancy.files.internalDir)).to.have.length(0);
      await tenancy.run('after-clear', async () => undefined);
      expect(templates(tenancy.files.internalDir)).to.have.length(1);
    } finally {
      await tenancy.close();
    }
  });

  it('falls back to running the migrations when the template cannot be used', async () => {
    const { warn, warnings } = warningCollector();
    const tenancy = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations }, warn });
    try {
      // Sabotage: a folder where the template file should go makes building it fail.
      const templatePath = join(tenancy.files.internalDir, `template-${tenancy.schema.key}.sqlite3`);
      mkdirSync(join(templatePath, 'blocker'), { recursive: true });
      expect(await tenancy.run('fallback', em => em.count(Note, {}))).to.equal(0);
      expect(migrationNames(tenancy.files.path('fallback'))).to.deep.equal(twoMigrations.map(m => m.name));
      expect(warnings.map(w => w.code)).to.deep.equal(['MIKRO_TENANT_TEMPLATE_FAILED']);
      rmSync(templatePath, { recursive: true });
    } finally {
      await tenancy.close();
    }
  });

  it('with template: false every tenant is migrated and no template file is written', async () => {
    const tenancy = await makeTenancy(dir, { template: false, migrations: { migrationsList: twoMigrations } });
    try {
      await tenancy.run('plain', async () => undefined);
      expect(templates(tenancy.files.internalDir)).to.deep.equal([]);
      expect(migrationNames(tenancy.files.path('plain'))).to.deep.equal(twoMigrations.map(m => m.name));
      expect(existsSync(tenancy.files.path('plain'))).to.equal(true);
    } finally {
      await tenancy.close();
    }
  });

  it('with the schema generated from the entities, a tenant whose tables lag behind reports ["schema"] pending and catches up', async () => {
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('lagging', async () => undefined);
      await tenancy.close();
      const db = new Database(join(dir, 'tenants', 'tenant_lagging.sqlite3'));
      db.exec('drop table tag');
      db.close();
      const next = await makeTenancy(dir);
      try {
        expect(await next.pendingMigrations('lagging')).to.deep.equal(['schema']);
        expect((await next.migrateTenant('lagging')).executed).to.deep.equal(['schema']);
        expect(await next.pendingMigrations('lagging')).to.deep.equal([]);
        expect(await next.run('lagging', em => em.count(Tag, {}))).to.equal(0);
      } finally {
        await next.close();
      }
    } finally {
      await tenancy.close().catch(() => undefined);
    }
  });
});

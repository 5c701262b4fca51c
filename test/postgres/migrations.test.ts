import { expect } from 'chai';
import { Note, Tag } from '../fixtures/entities.js';
import { pgBaseMigrations, pgBrokenMigrations, pgTwoMigrations } from '../fixtures/pg-migrations.js';
import { errorOf } from '../helpers.js';
import { createTestDatabase, makePgTenancy, tableNamesIn, type TestDatabase } from './helpers.js';

/** Columns and indexes of one schema, for comparing two tenants. */
async function shapeOf(db: TestDatabase, schema: string): Promise<unknown> {
  const columns = await db.query(
    'select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = $1 order by table_name, column_name',
    [schema]);
  const indexes = await db.query('select tablename, indexname, replace(indexdef, $1, \'S\') as def from pg_indexes where schemaname = $2 order by indexname',
    [`"${schema}"`, schema]);
  const normalised = JSON.parse(JSON.stringify(columns).replaceAll(schema, 'S').replaceAll(`"${schema}"`, 'S'));
  return { columns: normalised, indexes: JSON.parse(JSON.stringify(indexes).replaceAll(schema, 'S')) };
}

describe('postgres: migrations per tenant schema', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    await db.drop();
  });

  it('a new tenant gets every migration, recorded as executed in its own schema: nothing is pending', async () => {
    const tenancy = await makePgTenancy(db, { migrations: { migrationsList: pgTwoMigrations } });
    try {
      await tenancy.run('a', async em => {
        em.create(Note, { text: 'x' });
        await em.flush();
      });
      expect(await tenancy.pendingMigrations('a')).to.deep.equal([]);
      const rows = await db.query<{ name: string }>('select name from tenant_a.mikro_orm_migrations order by id');
      expect(rows.map(r => r.name)).to.deep.equal(['Migration001Notes', 'Migration002NoteIndex']);
      expect(await tableNamesIn(db, 'tenant_a')).to.deep.equal(['mikro_orm_migrations', 'note', 'tag']);
      expect((await tenancy.registry.get('a'))?.schemaVersion).to.equal('Migration002NoteIndex');
      // Nothing of the recording run is left: no scratch schema.
      expect(await db.query("select nspname from pg_namespace where nspname like 'mikro_tenant_%'")).to.deep.equal([]);
    } finally {
      await tenancy.close();
    }
  });

  it('a tenant built from the recorded script has the shape of one migrated step by step', async () => {
    const first = await makePgTenancy(db, { migrations: { migrationsList: pgBaseMigrations } });
    await first.createTenant('stepwise');
    await first.close();
    const second = await makePgTenancy(db, { migrations: { migrationsList: pgTwoMigrations } });
    try {
      expect(await second.pendingMigrations('stepwise')).to.deep.equal(['Migration002NoteIndex']);
      const result = await second.migrateTenant('stepwise');
      expect(result).to.deep.equal({ executed: ['Migration002NoteIndex'], version: 'Migration002NoteIndex' });
      await second.createTenant('scripted');
      expect(await shapeOf(db, 'tenant_scripted')).to.deep.equal(await shapeOf(db, 'tenant_stepwise'));
      expect((await second.registry.get('stepwise'))?.schemaVersion).to.equal('Migration002NoteIndex');
    } finally {
      await second.close();
    }
  });

  it('migrates one tenant without touching the others', async () => {
    const first = await makePgTenancy(db, { migrations: { migrationsList: pgBaseMigrations } });
    await first.createTenant('a');
    await first.createTenant('b');
    await first.close();
    const second = await makePgTenancy(db, { migrations: { migrationsList: pgTwoMigrations } });
    try {
      await second.migrateTenant('a');
      expect(await second.pendingMigrations('a')).to.deep.equal([]);
      expect(await second.pendingMigrations('b')).to.deep.equal(['Migration002NoteIndex']);
      const indexes = await db.query<{ schemaname: string }>("select schemaname from pg_indexes where indexname = 'note_author_id_index'");
      expect(indexes.map(i => i.schemaname)).to.deep.equal(['tenant_a']);
    } finally {
      await second.close();
    }
  });

  it('a failing migration rolls the tenant back (ERR_TENANT_MIGRATION_FAILED) and leaves it usable', async () => {
    const first = await makePgTenancy(db, { migrations: { migrationsList: pgTwoMigrations } });
    await first.run('a', async em => {
      em.create(Tag, { label: 'kept' });
      await em.flush();
    });
    await first.close();
    const second = await makePgTenancy(db, { migrations: { migrationsList: pgBrokenMigrations } });
    try {
      const error = await errorOf(() => second.migrateTenant('a'));
      expect(error).to.have.property('code', 'ERR_TENANT_MIGRATION_FAILED');
      const columns = await db.query("select column_name from information_schema.columns where table_schema = 'tenant_a' and table_name = 'note'");
      expect(columns.map(c => c.column_name)).to.not.include('pinned');
      expect(await second.pendingMigrations('a')).to.deep.equal(['Migration003Broken']);
      expect(await second.run('a', em => em.count(Tag, {}))).to.equal(1);
    } finally {
      await second.close();
    }
  });

  it('a failing migration fails provisioning (ERR_TENANT_PROVISIONING_FAILED): no schema, no registry row', async () => {
    const tenancy = await makePgTenancy(db, { migrations: { migrationsList: pgBrokenMigrations } });
    try {
      const error = await errorOf(() => tenancy.run('a', async () => undefined));
      expect(error).to.have.property('code', 'ERR_TENANT_PROVISIONING_FAILED');
      expect(await tenancy.tenantExists('a')).to.equal(false);
      expect(await tenancy.registry.get('a')).to.equal(undefined);
      expect(await db.query("select nspname from pg_namespace where nspname like 'tenant_%' or nspname like 'mikro_tenant_%'")).to.deep.equal([]);
    } finally {
      await tenancy.close();
    }
  });
});

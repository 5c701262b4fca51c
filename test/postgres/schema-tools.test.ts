import { expect } from 'chai';
import { defineEntity, p } from '@mikro-orm/core';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { Note, Tag, User } from '../fixtures/entities.js';
import { pgTwoMigrations } from '../fixtures/pg-migrations.js';
import { schemaGenerator } from '../orm-packages.js';
import { createTestDatabase, makePgTenancy, schemaNames, tableNamesIn, type TestDatabase } from './helpers.js';

describe('postgres: schema tools', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    await db.drop();
  });

  it('the shared ORM\'s schema tools never see a tenant schema: updateSchema() and dropSchema() leave them whole', async () => {
    const tenancy = await makePgTenancy(db, { migrations: { migrationsList: pgTwoMigrations } });
    try {
      await tenancy.createTenant('a');
      // A table of the tenant's own (not an entity's), as migrations make.
      await db.query('create table tenant_a.audit_log (id serial primary key)');
      expect(await tenancy.orm.schema.getUpdateSchemaSQL({ wrap: false })).to.equal('');
      await schemaGenerator(tenancy.orm.schema).update();
      expect(await tableNamesIn(db, 'tenant_a')).to.deep.equal(['audit_log', 'mikro_orm_migrations', 'note', 'tag']);
      expect(await tableNamesIn(db, 'public')).to.deep.equal(['mikro_tenant_registry', 'user']);
      await schemaGenerator(tenancy.orm.schema).drop();
      expect(await tableNamesIn(db, 'tenant_a')).to.deep.equal(['audit_log', 'mikro_orm_migrations', 'note', 'tag']);
      expect(await tableNamesIn(db, 'public')).to.deep.equal(['mikro_tenant_registry']);
    } finally {
      await tenancy.close();
    }
  });

  it('a schema generator on a tenant EntityManager reads and changes that tenant\'s schema only', async () => {
    const tenancy = await makePgTenancy(db);
    try {
      await tenancy.createTenant('a');
      await tenancy.createTenant('b');
      await tenancy.run('a', async em => {
        // As an app builds schema tools for a tenant: on the tenant's EntityManager.
        const generator = schemaGenerator(em.getPlatform().getSchemaGenerator(em.getDriver(), em));
        expect(await generator.getUpdateSchemaSQL({ wrap: false })).to.equal('');
        await generator.drop();
        expect(await tableNamesIn(db, 'tenant_a')).to.deep.equal([]);
        await generator.create();
      });
      expect(await tableNamesIn(db, 'tenant_a')).to.deep.equal(['note', 'tag']);
      expect(await tableNamesIn(db, 'tenant_b')).to.deep.equal(['note', 'tag']);
      expect(await tableNamesIn(db, 'public')).to.deep.equal(['mikro_tenant_registry', 'user']);
    } finally {
      await tenancy.close();
    }
  });

  it('with tables from the entities, a tenant lacking a new table has it pending, and migrateTenant adds it', async () => {
    const first = await makePgTenancy(db);
    await first.createTenant('a');
    await first.close();
    const Extra = defineEntity({ name: 'Extra', properties: { id: p.integer().primary().autoincrement() } });
    const second = await PostgresSchemaTenancy.init({
      clientUrl: db.url, entities: [User], debug: false, tenancy: { entities: [Note, Tag, Extra], warn: () => undefined },
    });
    try {
      expect(await second.pendingMigrations('a')).to.deep.equal(['schema']);
      expect((await second.migrateTenant('a')).executed).to.deep.equal(['schema']);
      expect(await second.pendingMigrations('a')).to.deep.equal([]);
      expect(await tableNamesIn(db, 'tenant_a')).to.deep.equal(['extra', 'note', 'tag']);
      await second.createTenant('b');
      expect(await tableNamesIn(db, 'tenant_b')).to.deep.equal(['extra', 'note', 'tag']);
      expect(await schemaNames(db)).to.deep.equal(['tenant_a', 'tenant_b']);
    } finally {
      await second.close();
    }
  });

  it('listTenants() gives the size of each schema; reconcile() finds schemas and rows that disagree, and fixes them', async () => {
    const tenancy = await makePgTenancy(db);
    try {
      await tenancy.createTenant('a');
      await tenancy.createTenant('b');
      const listed = await tenancy.listTenants();
      expect(listed.map(t => t.tenantId)).to.deep.equal(['a', 'b']);
      expect(listed.every(t => typeof t.sizeBytes === 'number' && t.sizeBytes > 0)).to.equal(true);
      await db.query('drop schema tenant_a cascade');
      await db.query('create schema "tenant_stray-1"');
      await db.query('create schema "tenantx"');
      expect(await tenancy.reconcile()).to.deep.equal({ missingSchemas: ['a'], unregistered: ['stray-1'] });
      expect(await tenancy.reconcile({ fix: true })).to.deep.equal({ missingSchemas: ['a'], unregistered: ['stray-1'] });
      expect(await tenancy.reconcile()).to.deep.equal({ missingSchemas: [], unregistered: [] });
      expect((await tenancy.registry.list()).map(r => [r.tenantId, r.location])).to.deep.equal([['b', 'tenant_b'], ['stray-1', 'tenant_stray-1']]);
    } finally {
      await tenancy.close();
    }
  });
});

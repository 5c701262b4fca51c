import { expect } from 'chai';
import { defineEntity, p } from '@mikro-orm/core';
import { PostgresSchemaTenancy, type PostgresTenancyConfig } from '@mikro-tenant/postgresql';
import { Note, Tag, User } from '../fixtures/entities.js';
import { errorOf } from '../helpers.js';
import { createTestDatabase, makePgTenancy, type TestDatabase } from './helpers.js';
import { sqliteDriver } from '../orm-packages.js';

describe('postgres: init', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    await db.drop();
  });

  const config = (over: Partial<PostgresTenancyConfig> = {}, tenancy: Partial<PostgresTenancyConfig['tenancy']> = {}): PostgresTenancyConfig => ({
    clientUrl: db.url, entities: [User], debug: false, ...over, tenancy: { entities: [Note, Tag], warn: () => undefined, ...tenancy },
  });

  /** Tables and schemas that a refused init must not have created. */
  const nothingCreated = async () => {
    expect(await db.query("select table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')")).to.deep.equal([]);
    expect(await db.query("select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname not in ('public', 'information_schema')")).to.deep.equal([]);
  };

  const refusals: [string, () => PostgresTenancyConfig, string][] = [
    ['a driver that is not PostgreSQL', () => config({ driver: sqliteDriver() as never }), '"driver"'],
    ['a shared schema that is not a plain lower-case name', () => config({ schema: 'My Schema' }), '"schema"'],
    ['a shared schema of PostgreSQL\'s', () => config({ schema: 'pg_catalog' }), '"schema"'],
    ['a per-tenant entity that names a schema', () => config({}, {
      entities: [defineEntity({ name: 'Pinned', schema: 'elsewhere', properties: { id: p.integer().primary() } })],
    }), '"tenancy.entities"'],
    ['a per-tenant table named like a shared one in the shared schema (bare names in SQL would be ambiguous)', () => config({
      entities: [defineEntity({ name: 'Account', schema: 'public', tableName: 'account', properties: { id: p.integer().primary() } })],
    }, {
      entities: [defineEntity({ name: 'Ledger', tableName: 'account', properties: { id: p.integer().primary() } })],
    }), '"tenancy.entities"'],
    ['a tenant entity that is per-tenant', () => config({}, { tenantEntity: Note }), '"tenancy.tenantEntity"'],
    ['an unknown tenancy option', () => config({}, { dir: 'x' } as never), '"tenancy.dir"'],
    ['a migrations folder that cannot be read', () => config({}, { migrations: { path: '/nonexistent/migrations' } }), '"tenancy.migrations.path"'],
    ['a reserved context name', () => config({ contextName: 'app:tenant' }), '"contextName"'],
  ];
  for (const [what, make, option] of refusals) {
    it(`refuses ${what} with ERR_INVALID_OPTION, before creating anything`, async () => {
      const error = await errorOf(() => PostgresSchemaTenancy.init(make()));
      expect(error).to.have.property('code', 'ERR_INVALID_OPTION');
      expect(error!.message).to.contain(option);
      await nothingCreated();
    });
  }

  it('puts the shared tables and the registry in the shared schema the ORM names', async () => {
    await db.query('create schema app');
    const tenancy = await makePgTenancy(db, {}, { schema: 'app' });
    try {
      await tenancy.orm.em.fork().insert(User, { id: 'u1', name: 'Sue' });
      await tenancy.run('a', async em => {
        em.create(Note, { text: 'x', author: 'u1' });
        await em.flush();
        // Bare names in raw SQL: the tenant's schema first, then the shared one.
        expect(await em.execute('select name from "user"')).to.deep.equal([{ name: 'Sue' }]);
      });
      expect(await db.query("select table_name from information_schema.tables where table_schema = 'app' order by 1"))
        .to.deep.equal([{ table_name: 'mikro_tenant_registry' }, { table_name: 'user' }]);
    } finally {
      await tenancy.close();
    }
  });
});

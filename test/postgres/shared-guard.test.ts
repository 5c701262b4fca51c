import { expect } from 'chai';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { loadOrmAdapter, loadedOrmAdapter } from '@mikro-tenant/postgresql/internal';
import { Label, LEFTOVER_TABLES, Member, Note, guardSharedEntities, guardTenantEntities } from '../fixtures/guard-model.js';
import { codeOf } from '../fixtures/guard-operations.js';
import { sharedGuardCases } from '../fixtures/shared-guard-cases.js';
import { schemaGenerator } from '../orm-packages.js';
import { createTestDatabase, recordPoolStatements, type TestDatabase } from './helpers.js';

/** How the installed major's guard classifies the shared driver's methods (`@mikro-tenant/sql`'s guard for that major). */
// Test files are compiled to CommonJS (tsx, through mocha's require()), where the library loads it synchronously.
void loadOrmAdapter();
const GUARDED_METHODS = loadedOrmAdapter()!.guardedMethods;

/** The per-tenant tables, left in the shared schema with rows (as after moving an app to tenants): a leak would reach them. */
const LEFTOVER_SQL = [
  'create table "note" ("id" serial primary key, "text" varchar(255) not null, "author_id" varchar(255) null)',
  'create table "label" ("id" serial primary key, "name" varchar(255) not null)',
  'create table "member_labels" ("member_id" varchar(255) not null, "label_id" int not null, primary key ("member_id", "label_id"))',
  'create table "card" ("id" serial primary key, "account_id" varchar(255) null unique)',
  "insert into \"note\" (\"id\", \"text\", \"author_id\") values (1, 'leftover one', 'm1'), (2, 'leftover two', 'm1')",
  "insert into \"label\" (\"id\", \"name\") values (1, 'leftover label')",
  "insert into \"member_labels\" (\"member_id\", \"label_id\") values ('m1', 1)",
  "insert into \"card\" (\"id\", \"account_id\") values (1, 'a1')",
];

/** A leftover table named bare or in the shared schema (a tenant's own statements name their schema). */
const TENANT_TABLE = new RegExp(`(?<!"tenant_[a-z0-9_-]+"\\.)"(${LEFTOVER_TABLES.join('|')})"`);

describe('postgres: the shared EntityManager refuses per-tenant entities on every route to SQL', () => {
  let db: TestDatabase;
  let tenancy: PostgresSchemaTenancy<SqlEntityManager>;
  const statements: string[] = [];
  let original: string;

  const snapshot = async (): Promise<string> => JSON.stringify(await Promise.all(
    [...LEFTOVER_TABLES, 'member', 'account'].map(table => db.query(`select * from public."${table}" order by 1`))));

  const restore = async (): Promise<void> => {
    for (const table of LEFTOVER_TABLES) {
      await db.query(`drop table if exists public."${table}"`);
    }
    for (const sql of LEFTOVER_SQL) {
      await db.query(sql);
    }
    await db.query('delete from "member"');
    await db.query('delete from "account"');
    await db.query("insert into \"member\" (\"id\", \"name\") values ('m1', 'Mia')");
    await db.query("insert into \"account\" (\"id\") values ('a1')");
  };

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase('guard');
    tenancy = await PostgresSchemaTenancy.init<SqlEntityManager>({
      clientUrl: db.url, entities: guardSharedEntities, allowGlobalContext: false, debug: false,
      tenancy: { entities: guardTenantEntities, warn: () => undefined },
    });
    await schemaGenerator(tenancy.orm.schema).create();
    await restore();
    await tenancy.run('t1', async em => {
      em.create(Note, { text: 'tenant note' });
      em.create(Label, { name: 'tenant label' });
      await em.flush();
    });
    original = await snapshot();
    await recordPoolStatements(tenancy.orm, statements);
  });

  after(async () => {
    await tenancy.close();
    await db.drop();
  });

  beforeEach(() => {
    statements.length = 0;
  });

  const untouched = async () => {
    const sent = statements.filter(sql => TENANT_TABLE.test(sql));
    statements.length = 0;
    const now = await snapshot();
    if (now !== original) {
      await restore();
    }
    expect(sent, 'statements that reached per-tenant tables of the shared schema').to.deep.equal([]);
    expect(JSON.parse(now), 'the shared schema').to.deep.equal(JSON.parse(original));
  };

  sharedGuardCases({ tenancy: () => tenancy as never, untouched: () => untouched(), guardedMethods: GUARDED_METHODS });

  it('tenancy.em outside a tenant throws ERR_NO_TENANT_CONTEXT before any SQL, on every route', async () => {
    const routes: (() => unknown)[] = [
      () => tenancy.em.find(Note, {}),
      () => tenancy.em.count(Note, {}),
      async () => { tenancy.em.create(Note, { text: 'x' }); await tenancy.em.flush(); },
      () => tenancy.em.insert(Note, { text: 'x' }),
      () => tenancy.em.createQueryBuilder(Note).select('*').execute(),
      () => tenancy.em.execute('select 1'),
      () => tenancy.em.getConnection().execute('select 1'),
      () => tenancy.em.fork().find(Note, {}),
    ];
    for (const route of routes) {
      expect(await codeOf(async () => route())).to.equal('ERR_NO_TENANT_CONTEXT');
    }
    await untouched();
  });

  it('shared entities still load through the shared EntityManager, and a tenant sees its own rows only', async () => {
    const em = tenancy.orm.em.fork();
    expect((await em.find(Member, {})).map(m => m.name)).to.deep.equal(['Mia']);
    expect(await tenancy.run('t1', tem => tem.find(Note, {}))).to.have.length(1);
    await untouched();
  });
});

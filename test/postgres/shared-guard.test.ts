import { expect } from 'chai';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { loadOrmAdapter, loadedOrmAdapter } from '@mikro-tenant/postgresql/internal';
import { Label, LEFTOVER_TABLES, Member, Note, guardSharedEntities, guardTenantEntities } from '../fixtures/guard-model.js';
import { DRIVER_CALLS, HARMLESS, OPERATIONS, callThrough, codeOf, type GuardTenancy } from '../fixtures/guard-operations.js';
import { schemaGenerator } from '../orm-packages.js';
import { createTestDatabase, recordPoolStatements, type TestDatabase } from './helpers.js';

/** How the installed major's guard classifies the shared driver's methods (`mikro-orm-6/` or `mikro-orm-7/shared-driver-guard.ts`). */
// Test files are compiled to CommonJS (tsx, through mocha's require()), where the library loads it synchronously.
void loadOrmAdapter();
const { checked: CHECKED_METHODS, noSql: NO_SQL_METHODS, rawSql: RAW_SQL_METHODS } = loadedOrmAdapter()!.guardedMethods;

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

/** Methods on `proto`'s chain (up to Object.prototype) that the guard's lists do not classify. */
function unclassifiedMethods(proto: object): string[] {
  const classified = new Set([...CHECKED_METHODS, ...NO_SQL_METHODS, ...RAW_SQL_METHODS]);
  const out = new Set<string>();
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name !== 'constructor' && !classified.has(name)) {
        out.add(name);
      }
    }
  }
  return [...out];
}

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

  for (const [name, operation] of OPERATIONS) {
    it(`${name}: ERR_NO_TENANT_CONTEXT outside a tenant, nothing sent`, async () => {
      const code = await codeOf(() => operation(tenancy.orm.em.fork(), tenancy as unknown as GuardTenancy));
      await untouched();
      expect(code).to.equal(HARMLESS.has(name) ? undefined : 'ERR_NO_TENANT_CONTEXT');
    });

    it(`${name}: ERR_TENANT_ENTITY_ON_SHARED_EM inside a tenant, nothing sent`, async () => {
      // Inside a tenant scope orm.em (and so its plain fork()) is the tenant's: the shared EntityManager is a fork without context resolution.
      const code = await tenancy.run('t1', () => codeOf(() => operation(tenancy.orm.em.fork({ disableContextResolution: true }), tenancy as unknown as GuardTenancy)));
      await untouched();
      expect(code).to.equal(HARMLESS.has(name) ? undefined : 'ERR_TENANT_ENTITY_ON_SHARED_EM');
    });
  }

  it('every method of the shared PostgreSQL driver, up to Object.prototype, is classified in the guard', () => {
    const driver = tenancy.orm.em.getDriver();
    expect(unclassifiedMethods(Object.getPrototypeOf(driver) as object), 'methods the guard does not classify').to.deep.equal([]);
    class Upgraded extends (driver.constructor as new (...args: never[]) => object) {
      newQueryMethod(): void {}
    }
    expect(unclassifiedMethods(Upgraded.prototype)).to.deep.equal(['newQueryMethod']);
  });

  for (const method of CHECKED_METHODS) {
    it(`the driver's ${method}() refuses a per-tenant entity in its arguments before running`, async () => {
      const em = tenancy.orm.em.fork();
      const driver = em.getDriver() as unknown as Record<string, (...args: unknown[]) => unknown>;
      const args = await DRIVER_CALLS[method]!(em);
      const code = await codeOf(() => callThrough(() => driver[method]!(...args)));
      await untouched();
      expect(code).to.equal('ERR_NO_TENANT_CONTEXT');
    });
  }

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

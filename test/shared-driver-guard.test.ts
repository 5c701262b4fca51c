import { join } from 'node:path';
import { expect } from 'chai';
import { LoadStrategy, LockMode, type InferEntity, type Loaded } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import {
  Account, Label, LEFTOVER_TABLES, LEFTOVER_TABLES_SQL, Member, MemberTally, Note, NoteTally, guardSharedEntities, guardTenantEntities,
} from './fixtures/guard-model.js';
import { tempDir, warningCollector } from './helpers.js';
import { CHECKED_METHODS, NO_SQL_METHODS, RAW_SQL_METHODS } from '../packages/sqlite/src/mikro-orm-6/shared-driver-guard.js';

type SharedEm = SqlEntityManager;
type Operation = (em: SharedEm, tenancy: SqliteTenancy) => Promise<unknown>;

async function codeOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    return (error as { code?: string }).code ?? `(no code) ${(error as Error).message}`;
  }
  return undefined;
}

const member = (em: SharedEm): Promise<Loaded<InferEntity<typeof Member>>> => em.findOneOrFail(Member, 'm1');

/**
 * Every way we know of to reach SQL through the shared EntityManager with a per-tenant entity, directly
 * or through a shared one (its relations, populate hints, conditions, collections, flushes).
 */
const OPERATIONS: [string, Operation][] = [
  // Reads of a per-tenant entity.
  ['find', em => em.find(Note, {})],
  ['findOne', em => em.findOne(Note, 1)],
  ['findOneOrFail', em => em.findOneOrFail(Note, 1)],
  ['findAll', em => em.findAll(Note)],
  ['findAndCount', em => em.findAndCount(Note, {})],
  ['findByCursor', em => em.findByCursor(Note, {}, { first: 1, orderBy: { id: 'asc' } })],
  ['count', em => em.count(Note)],
  ['repository find', em => em.getRepository(Note).findAll()],
  ['refresh', em => em.refresh(em.getReference(Note, 1))],
  ['findOne with a pessimistic lock (lock and fetch)', em => em.transactional(trx => trx.findOne(Note, 1, { lockMode: LockMode.PESSIMISTIC_WRITE }))],
  ['em.lock (pessimistic)', em => em.transactional(trx => trx.lock(trx.getReference(Note, 1), LockMode.PESSIMISTIC_WRITE))],
  ['findVirtual (a per-tenant virtual entity)', em => em.find(NoteTally, {})],
  ['countVirtual (a per-tenant virtual entity)', em => em.count(NoteTally, {})],
  ['a shared virtual entity whose expression queries a per-tenant one', em => em.find(MemberTally, {})],
  // Reads of a shared entity that reach a per-tenant one.
  ['joined populate of a one-to-many (the default strategy)', em => em.find(Member, {}, { populate: ['notes'] })],
  ['select-in populate of a one-to-many', em => em.find(Member, {}, { populate: ['notes'], strategy: LoadStrategy.SELECT_IN })],
  ['joined populate of a many-to-many', em => em.find(Member, {}, { populate: ['labels'] })],
  ['select-in populate of a many-to-many', em => em.find(Member, {}, { populate: ['labels'], strategy: LoadStrategy.SELECT_IN })],
  ['findOne with populate', em => em.findOne(Member, 'm1', { populate: ['notes'] })],
  ['populate all', em => em.find(Member, {}, { populate: ['*'] })],
  ['partial loading of a relation', em => em.find(Member, {}, { fields: ['name', 'notes.text'] })],
  ['a condition on a one-to-many', em => em.find(Member, { notes: { text: 'leftover one' } })],
  ['a condition on a many-to-many', em => em.find(Member, { labels: { name: 'leftover label' } })],
  ['ordering by a relation', em => em.find(Member, {}, { orderBy: { notes: { text: 'asc' } } })],
  ['count with a condition on a relation', em => em.count(Member, { notes: { text: 'leftover one' } })],
  ['count with populate', em => em.count(Member, {}, { populate: ['notes'] })],
  ['a one-to-one inverse side (joined on every load)', em => em.find(Account, {})],
  ['em.populate (joined)', async em => em.populate(await member(em), ['notes'])],
  ['em.populate (select-in)', async em => em.populate(await member(em), ['notes'], { strategy: LoadStrategy.SELECT_IN })],
  ['em.populate of a many-to-many', async em => em.populate(await member(em), ['labels'])],
  ['Collection.init of a one-to-many', async em => (await member(em)).notes.init()],
  ['Collection.init of a many-to-many (loadFromPivotTable)', async em => (await member(em)).labels.init()],
  ['Collection.loadCount of a one-to-many', async em => (await member(em)).notes.loadCount()],
  ['Collection.loadCount of a many-to-many', async em => (await member(em)).labels.loadCount()],
  ['Collection.matching', async em => (await member(em)).notes.matching({})],
  // QueryBuilder.
  ['createQueryBuilder', em => em.createQueryBuilder(Note).getResultList()],
  ['QueryBuilder insert', em => em.createQueryBuilder(Note).insert({ text: 'x' }).execute()],
  ['QueryBuilder truncate', em => em.createQueryBuilder(Note).truncate().execute()],
  ['QueryBuilder .join of a one-to-many', em => em.createQueryBuilder(Member, 'm').join('m.notes', 'n').select('m.*').getResultList()],
  ['QueryBuilder .leftJoinAndSelect', em => em.createQueryBuilder(Member, 'm').leftJoinAndSelect('m.notes', 'n').getResultList()],
  ['QueryBuilder .leftJoin of a many-to-many', em => em.createQueryBuilder(Member, 'm').leftJoin('m.labels', 'l').select('m.*').getResultList()],
  ['QueryBuilder condition on a relation', em => em.createQueryBuilder(Member, 'm').select('*').where({ notes: { text: 'x' } }).getResultList()],
  ['QueryBuilder getCount with a join (a clone)', em => em.createQueryBuilder(Member, 'm').leftJoinAndSelect('m.notes', 'n').getCount()],
  ['QueryBuilder paginated to-many join (a sub-query)', em => em.createQueryBuilder(Member, 'm').leftJoinAndSelect('m.notes', 'n').limit(1).getResultList()],
  ['QueryBuilder getResultAndCount', em => em.createQueryBuilder(Member, 'm').leftJoinAndSelect('m.labels', 'l').getResultAndCount()],
  ['QueryBuilder update through a relation', em => em.createQueryBuilder(Member).update({ name: 'x' }).where({ notes: { text: 'leftover one' } }).execute()],
  ['QueryBuilder delete through a relation', em => em.createQueryBuilder(Member).delete().where({ notes: { text: 'leftover one' } }).execute()],
  ['QueryBuilder over a tenant QueryBuilder', async (em, tenancy) => {
    const tenantQb = (await tenancy.fork('t1')).createQueryBuilder(Note, 'n').select('*');
    return em.createQueryBuilder(tenantQb, 'x').getResultList();
  }],
  ['QueryBuilder join of a tenant QueryBuilder', async (em, tenancy) => {
    const tenantQb = (await tenancy.fork('t1')).createQueryBuilder(Note, 'n2').select('*');
    return em.createQueryBuilder(Member, 'm').leftJoin(tenantQb, 'n', {}).select('m.*').getResultList();
  }],
  // Writes.
  ['insert', em => em.insert(Note, { text: 'x' })],
  ['insertMany', em => em.insertMany(Note, [{ text: 'x' }, { text: 'y' }])],
  ['nativeUpdate', em => em.nativeUpdate(Note, { id: 1 }, { text: 'x' })],
  ['nativeDelete', em => em.nativeDelete(Note, { id: 1 })],
  ['upsert', em => em.upsert(Note, { id: 1, text: 'x' })],
  ['upsertMany', em => em.upsertMany(Note, [{ id: 1, text: 'x' }, { id: 2, text: 'y' }])],
  ['create + flush', async em => { em.create(Note, { text: 'x' }); await em.flush(); }],
  ['create two + flush (batched insert)', async em => { em.create(Note, { text: 'x' }); em.create(Note, { text: 'y' }); await em.flush(); }],
  ['getReference, change, flush (update)', async em => { em.getReference(Note, 1).text = 'changed'; await em.flush(); }],
  ['two getReferences changed + flush (batched update, nativeUpdateMany)', async em => {
    em.getReference(Note, 1).text = 'changed';
    em.getReference(Note, 2).text = 'changed';
    await em.flush();
  }],
  ['remove + flush', async em => { em.remove(em.getReference(Note, 1)); await em.flush(); }],
  ['remove two + flush', async em => { em.remove([em.getReference(Note, 1), em.getReference(Note, 2)]); await em.flush(); }],
  ['add to a many-to-many + flush (syncCollections)', async em => { (await member(em)).labels.add(em.getReference(Label, 2)); await em.flush(); }],
  ['replace a many-to-many + flush (syncCollections)', async em => { (await member(em)).labels.set([em.getReference(Label, 2)]); await em.flush(); }],
  ['add to a one-to-many + flush', async em => { (await member(em)).notes.add(em.getReference(Note, 2)); await em.flush(); }],
  ['cascade persist from a shared entity', async em => { em.create(Member, { id: 'm2', name: 'x', notes: [{ text: 'y' }] }); await em.flush(); }],
];

/** Methods on `proto`'s chain (up to Object.prototype) that the guard's lists do not classify. */
function unclassifiedMethods(proto: object): string[] {
  const classified = new Set([...Object.keys(CHECKED_METHODS), ...NO_SQL_METHODS, ...RAW_SQL_METHODS]);
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

/** Arguments for each checked driver method that name a per-tenant entity the way MikroORM passes it. */
const DRIVER_CALLS: Record<string, (em: SharedEm) => Promise<unknown[]>> = {
  find: async () => ['Note', {}],
  findOne: async () => ['Note', {}],
  count: async () => ['Note', {}],
  findVirtual: async () => ['NoteTally', {}, {}],
  countVirtual: async () => ['NoteTally', {}, {}],
  findFromVirtual: async () => ['NoteTally', {}, {}, 'SELECT'],
  aggregate: async () => ['Note', []],
  nativeInsert: async () => ['Note', { text: 'x' }],
  nativeInsertMany: async () => ['Note', [{ text: 'x' }, { text: 'y' }]],
  nativeUpdate: async () => ['Note', { id: 1 }, { text: 'x' }],
  nativeUpdateMany: async () => ['Note', [{ id: 1 }, { id: 2 }], [{ text: 'x' }, { text: 'y' }]],
  nativeDelete: async () => ['Note', { id: 1 }],
  createQueryBuilder: async () => [Note],
  wrapVirtualExpressionInSubquery: async em => [em.getMetadata().get('NoteTally'), 'select 1', {}, {}, 'SELECT'],
  lockPessimistic: async em => [em.getReference(Note, 1), { lockMode: LockMode.PESSIMISTIC_WRITE }],
  loadFromPivotTable: async em => [em.getMetadata().get('Member').properties.labels, [['m1']]],
  syncCollections: async em => [[(await member(em)).labels], {}],
  processManyToMany: async em => [em.getMetadata().get('Member'), ['m1'], { labels: [[1]] }, false, {}],
};

const TENANT_TABLE = new RegExp(`[\`"'](${LEFTOVER_TABLES.join('|')})[\`"']`);

describe('the shared EntityManager refuses per-tenant entities on every route to SQL', () => {
  let tenancy: SqliteTenancy;
  let cleanup: () => void;
  let statements: string[];
  let original: string;

  const snapshot = async (): Promise<string> => {
    const em = tenancy.orm.em.fork();
    const tables = await Promise.all([...LEFTOVER_TABLES, 'member', 'account'].map(table => em.execute(`select * from \`${table}\` order by 1`)));
    return JSON.stringify(tables);
  };

  const restore = async (): Promise<void> => {
    const em = tenancy.orm.em.fork();
    for (const table of LEFTOVER_TABLES) {
      await em.execute(`drop table if exists \`${table}\``);
    }
    for (const sql of LEFTOVER_TABLES_SQL) {
      await em.execute(sql);
    }
    await em.execute('delete from `member`');
    await em.execute('delete from `account`');
    await em.execute("insert into `member` (`id`, `name`) values ('m1', 'Mia')");
    await em.execute("insert into `account` (`id`) values ('a1')");
  };

  before(async () => {
    const tmp = tempDir('guard');
    cleanup = tmp.cleanup;
    tenancy = await SqliteTenancy.init({
      dbName: join(tmp.dir, 'shared.sqlite3'),
      entities: guardSharedEntities,
      allowGlobalContext: false,
      debug: false,
      tenancy: { dir: join(tmp.dir, 'tenants'), entities: guardTenantEntities, warn: warningCollector().warn },
    });
    await tenancy.orm.schema.createSchema();
    await restore();
    await tenancy.run('t1', async em => {
      em.create(Note, { text: 'tenant note' });
      em.create(Label, { name: 'tenant label' });
      await em.flush();
    });
    await tenancy.registry.flush();
    original = await snapshot();
    statements = [];
    tenancy.orm.em.getConnection().getKnex().on('query', (query: { sql: string }) => statements.push(query.sql));
  });

  after(async () => {
    await tenancy.close();
    cleanup();
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
    expect(sent, 'statements that reached per-tenant tables of the shared database').to.deep.equal([]);
    expect(JSON.parse(now), 'the shared database').to.deep.equal(JSON.parse(original));
  };

  for (const [name, operation] of OPERATIONS) {
    it(`${name}: ERR_NO_TENANT_CONTEXT outside a tenant, nothing sent`, async () => {
      const code = await codeOf(() => operation(tenancy.orm.em.fork(), tenancy));
      await untouched();
      expect(code).to.equal('ERR_NO_TENANT_CONTEXT');
    });

    it(`${name}: ERR_TENANT_ENTITY_ON_SHARED_EM inside a tenant, nothing sent`, async () => {
      // Inside a tenant scope orm.em (and so its plain fork()) is the tenant's: the shared EntityManager is a fork without context resolution.
      const code = await tenancy.run('t1', () => codeOf(() => operation(tenancy.orm.em.fork({ disableContextResolution: true }), tenancy)));
      await untouched();
      expect(code).to.equal('ERR_TENANT_ENTITY_ON_SHARED_EM');
    });
  }

  it('every method of the shared driver, up to Object.prototype, is classified in the guard', () => {
    const driver = tenancy.orm.em.getDriver();
    expect(unclassifiedMethods(Object.getPrototypeOf(driver) as object), 'methods the guard does not classify').to.deep.equal([]);
    // The check can fail: a method a MikroORM upgrade adds is reported until it is classified.
    class Upgraded extends (driver.constructor as new (...args: never[]) => object) {
      newQueryMethod(): void {}
    }
    expect(unclassifiedMethods(Upgraded.prototype)).to.deep.equal(['newQueryMethod']);
    const names = new Set<string>();
    for (let p: object | null = driver; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      Object.getOwnPropertyNames(p).forEach(name => names.add(name));
    }
    const lists = [...Object.keys(CHECKED_METHODS), ...NO_SQL_METHODS, ...RAW_SQL_METHODS];
    expect(lists.filter(name => !names.has(name)), 'classified methods the driver no longer has').to.deep.equal([]);
    expect(lists.length, 'a method is in two lists').to.equal(new Set(lists).size);
  });

  for (const method of Object.keys(CHECKED_METHODS)) {
    it(`the driver's ${method}() refuses a per-tenant entity in its arguments before running`, async () => {
      const em = tenancy.orm.em.fork();
      const driver = em.getDriver() as unknown as Record<string, (...args: unknown[]) => unknown>;
      expect(DRIVER_CALLS, 'arguments to call it with').to.have.property(method);
      const args = await DRIVER_CALLS[method]!(em);
      const code = await codeOf(async () => driver[method]!(...args));
      await untouched();
      expect(code).to.equal('ERR_NO_TENANT_CONTEXT');
    });
  }

  it('raw SQL through em.execute is the caller\'s own and runs', async () => {
    const rows = await tenancy.orm.em.fork().execute('select count(*) as n from `note`');
    expect(rows).to.deep.equal([{ n: 2 }]);
  });

  it('shared entities and their shared columns still load', async () => {
    const em = tenancy.orm.em.fork();
    expect((await em.find(Member, {})).map(m => m.name)).to.deep.equal(['Mia']);
    expect(await em.count(Member, { name: 'Mia' })).to.equal(1);
    const qb = em.createQueryBuilder(Member, 'm').select('*').where({ name: 'Mia' });
    expect((await qb.getResultList()).map(m => m.id)).to.deep.equal(['m1']);
    expect(await em.createQueryBuilder(Member, 'm').where({ name: 'Mia' }).getCount()).to.equal(1);
    await untouched();
  });
});

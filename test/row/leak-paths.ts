/**
 * Every way we know to reach tenant-owned rows, as data: the leak matrix of row-level tenancy. Each path is
 * tried from tenant `a` against tenant `b`'s rows (or with no tenant at all) by leak-matrix.test.ts, on
 * SQLite and on PostgreSQL, with and without the ORM-level guard.
 * @module
 */
import { NotFoundError, raw, wrap, type EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import type { RowTenancy, TenantErrorCode } from '@mikro-tenant/row';
import { ormMajor } from '../orm-major.js';
import { findByCursor } from '../orm-packages.js';
import { Project, Task } from './fixtures.js';

/** The rows every path starts from. */
export interface LeakWorld {
  readonly tenancy: RowTenancy;
  /** Tenant a's project and task. */
  readonly a: { project: number; task: number };
  /** Tenant b's project and task: names containing {@link SECRET}. */
  readonly b: { project: number; task: number };
  /** A task of tenant a referencing tenant b's project (made unscoped): what a cross-tenant foreign key looks like. */
  readonly crossTask: number;
}

/** In every name of tenant b's rows: a value containing it must never reach tenant a. */
export const SECRET = 'secret-of-b';

/** Where the guard holds the line on this engine and where the database does. */
export interface EngineTraits {
  /** The ORM-level guard is on. */
  readonly guard: boolean;
  /** PostgreSQL row level security is on. */
  readonly database: boolean;
}

/** One way in. */
export interface LeakPath {
  readonly name: string;
  /** The code the ORM-level guard refuses it with (per engine); undefined: it is scoped (answers only the tenant's rows). */
  readonly refused?: TenantErrorCode | ((traits: EngineTraits) => TenantErrorCode | undefined);
  /** Only the database can hold this one (the driver's raw handles): skipped where it does not enforce. */
  readonly databaseOnly?: true;
  /** Only the ORM can hold this one (the database never sees it: the identity map): skipped with the guard off. */
  readonly ormOnly?: true;
  /** Tries the path; returns what it saw. */
  attempt(em: SqlEntityManager, world: LeakWorld): Promise<unknown>;
}

async function orNull<T>(work: Promise<T>): Promise<T | null> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof NotFoundError) {
      return null;
    }
    throw error;
  }
}

const rawRefused = (t: EngineTraits): TenantErrorCode | undefined => (t.guard && !t.database ? 'ERR_UNSCOPED_QUERY' : undefined);

/** The paths, from tenant a. */
const FROM_OTHER_TENANT_ALL_MAJORS: readonly LeakPath[] = [
  { name: 'find', attempt: em => em.find(Project, {}) },
  { name: 'find by the other tenant\'s id', attempt: (em, w) => em.find(Project, { id: w.b.project }) },
  { name: 'find with filters off', attempt: em => em.find(Project, {}, { filters: false }) },
  { name: 'findOne', attempt: (em, w) => em.findOne(Project, w.b.project) },
  { name: 'findOneOrFail', attempt: (em, w) => orNull(em.findOneOrFail(Project, w.b.project)) },
  { name: 'count', attempt: async em => ({ count: await em.count(Project), expected: 1 }) },
  { name: 'findAndCount', attempt: em => em.findAndCount(Project, {}) },
  { name: 'findByCursor', attempt: async em => (await findByCursor<{ items: unknown[] }>(em, Project, {}, { first: 10, orderBy: { id: 'asc' } })).items },
  { name: 'populate joined (cross-tenant reference)', attempt: (em, w) => em.find(Task, { id: w.crossTask }, { populate: ['project'], strategy: 'joined' }) },
  { name: 'populate select-in (cross-tenant reference)', attempt: (em, w) => em.find(Task, { id: w.crossTask }, { populate: ['project'], strategy: 'select-in' }) },
  { name: 'lazy load of a cross-tenant reference', attempt: async (em, w) => {
    const task = await em.findOneOrFail(Task, w.crossTask);
    return task.project ? orNull(wrap(task.project).init()) : null;
  } },
  { name: 'collection init', attempt: async em => {
    const [project] = await em.find(Project, {});
    await project!.tasks.init();
    return project!.tasks.getItems();
  } },
  { name: 'em.populate', attempt: async em => em.populate(await em.find(Task, {}), ['project']) },
  { name: 'nativeUpdate of every row', attempt: em => em.nativeUpdate(Project, {}, { name: 'overwritten' }) },
  { name: 'nativeUpdate by the other tenant\'s id', attempt: (em, w) => em.nativeUpdate(Project, { id: w.b.project }, { name: 'overwritten' }) },
  { name: 'nativeUpdate moving rows to the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: em => em.nativeUpdate(Project, {}, { tenantId: 'b' } as never) },
  { name: 'nativeDelete by the other tenant\'s id', attempt: (em, w) => em.nativeDelete(Project, { id: w.b.project }) },
  { name: 'nativeDelete of every task', attempt: em => em.nativeDelete(Task, {}) },
  { name: 'QueryBuilder select', attempt: em => em.createQueryBuilder(Project).select('*').getResultList() },
  { name: 'QueryBuilder select by the other tenant\'s id', attempt: (em, w) => em.createQueryBuilder(Project).select('*').where({ id: w.b.project }).getResultList() },
  { name: 'QueryBuilder getCount', attempt: async em => ({ count: await em.createQueryBuilder(Project).getCount(), expected: 1 }) },
  { name: 'QueryBuilder execute (raw rows)', attempt: em => em.createQueryBuilder(Project).select('*').execute('all', false) },
  { name: 'QueryBuilder update', attempt: em => em.createQueryBuilder(Project).update({ name: 'overwritten' }).execute() },
  { name: 'QueryBuilder delete by the other tenant\'s id', attempt: (em, w) => em.createQueryBuilder(Task).delete({ id: w.b.task }).execute() },
  { name: 'QueryBuilder join to a tenant-owned entity', attempt: em => em.createQueryBuilder(Task, 't').leftJoinAndSelect('t.project', 'p').getResultList() },
  { name: 'QueryBuilder as a sub-query', attempt: async em => {
    const sub = em.createQueryBuilder(Project, 'p2').select('p2.id');
    // 6 nests knex's query; 7 takes the QueryBuilder itself.
    const ids = ormMajor() === 6 ? sub.getKnexQuery() : sub;
    return em.createQueryBuilder(Task, 't').select('*').where({ project: { $in: ids } }).getResultList();
  } },
  { name: 'QueryBuilder insert naming the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: em => em.createQueryBuilder(Project).insert({ name: 'forged', tenantId: 'b' } as never).execute() },
  { name: 'QueryBuilder truncate', refused: t => (t.guard ? 'ERR_UNSCOPED_QUERY' : undefined), attempt: em => em.createQueryBuilder(Task).truncate().execute() },
  { name: 'getReference + change + flush', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: async (em, w) => {
    em.getReference(Project, w.b.project).name = 'overwritten';
    await em.flush();
  } },
  { name: 'getReference + remove + flush', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: async (em, w) => {
    em.remove(em.getReference(Task, w.b.task));
    await em.flush();
  } },
  { name: 'create naming the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: async em => {
    em.create(Project, { name: 'forged', tenantId: 'b' } as never);
    await em.flush();
  } },
  { name: 'moving a loaded row to the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: async (em, w) => {
    const own = await em.findOneOrFail(Project, w.a.project);
    (own as unknown as { tenantId: string }).tenantId = 'b';
    await em.flush();
  } },
  { name: 'upsert of the other tenant\'s id', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: (em, w) => em.upsert(Project, { id: w.b.project, name: 'taken over' } as never) },
  { name: 'upsertMany of the other tenant\'s id', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: (em, w) => em.upsertMany(Project, [{ id: w.b.project, name: 'taken over' }] as never) },
  { name: 'insert naming the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: em => em.insert(Project, { name: 'forged', tenantId: 'b' } as never) },
  { name: 'insertMany naming the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: em => em.insertMany(Project, [{ name: 'forged', tenantId: 'b' }] as never) },
  { name: 'identity map: a row of the other tenant merged in, then findOne', ormOnly: true, attempt: async (em, w) => {
    const foreign = await w.tenancy.unscoped(other => other.findOneOrFail(Project, w.b.project));
    em.merge(foreign);
    return em.findOne(Project, w.b.project);
  } },
  { name: 'identity map: a row of the other tenant merged in, changed, flushed', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: async (em, w) => {
    const foreign = await w.tenancy.unscoped(other => other.findOneOrFail(Project, w.b.project));
    em.merge(foreign).name = 'overwritten';
    await em.flush();
  } },
  { name: 'em.execute raw SQL', refused: rawRefused, attempt: em => em.execute('select * from project') },
  { name: 'em.execute raw SQL update', refused: rawRefused, attempt: em => em.execute('update project set name = \'overwritten\'') },
  { name: 'connection.execute raw SQL (the driver\'s handle)', databaseOnly: true, attempt: em => em.getConnection().execute('select * from project') },
  { name: 'the query builder library\'s handle (knex on 6, kysely on 7)', databaseOnly: true, attempt: em => (ormMajor() === 6
    ? em.getKnex().select('*').from('project')
    // 7: outside a transaction, and in one (where the tenant is set for the transaction).
    : Promise.all([em7(em).getKysely().selectFrom('project').selectAll().execute(),
      em7(em).transactional(tx => tx.getKysely().selectFrom('project').selectAll().execute())])) },
  { name: 'transactional find', attempt: em => em.transactional(tx => tx.find(Project, {})) },
  { name: 'transactional nativeUpdate', attempt: em => em.transactional(tx => tx.nativeUpdate(Project, {}, { name: 'overwritten' })) },
  { name: 'transactional QueryBuilder select', attempt: em => em.transactional(tx => (tx as SqlEntityManager).createQueryBuilder(Project).select('*').getResultList()) },
  { name: 'the global orm.em inside run()', attempt: (_em, w) => w.tenancy.orm.em.find(Project, {}) },
  { name: 'tenancy.em inside run()', attempt: (_em, w) => w.tenancy.em.find(Project, {}) },
  { name: 'a fork of the tenant\'s EntityManager', attempt: em => em.fork().find(Project, {}) },
  { name: 'refresh of a row of the other tenant', attempt: async (em, w) => {
    const foreign = await w.tenancy.unscoped(other => other.findOneOrFail(Project, w.b.project));
    return orNull(em.refreshOrFail(em.merge(foreign)).then(() => null));
  } },
];

/** The EntityManager methods MikroORM 7 adds that reach tenant-owned rows (the suite type-checks against 6's typings). */
interface Em7 {
  getKysely(): { selectFrom(table: string): { selectAll(): { execute(): Promise<unknown[]> } } };
  clone(entityOrName: unknown, whereOrOverrides?: unknown, overrides?: unknown): Promise<unknown>;
  stream(entityName: unknown, options?: object): AsyncIterable<unknown>;
  countBy(entityName: unknown, groupBy: string): Promise<Record<string, number>>;
  execute(sql: string, params: unknown[], options: { method: 'all' }): Promise<unknown>;
  transactional<T>(fn: (em: Em7) => Promise<T>): Promise<T>;
}

/** What the QueryBuilder paths new in MikroORM 7 call. */
interface Qb7 {
  stream(): AsyncIterable<unknown>;
  insertFrom(subQuery: unknown, options?: { columns: string[] }): { execute(): Promise<unknown> };
}

const em7 = (em: SqlEntityManager) => em as unknown as Em7;
const qb7 = (qb: unknown) => qb as Qb7;

async function collect(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const all: unknown[] = [];
  for await (const item of items) {
    all.push(item);
  }
  return all;
}

/** Ways in that MikroORM 7 adds (absent on 6, where these methods do not exist). */
const SINCE_7_FROM_OTHER_TENANT: readonly LeakPath[] = [
  { name: 'em.clone of the other tenant\'s row', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: (em, w) => em7(em).clone(Project, { id: w.b.project }) },
  { name: 'em.clone of the other tenant\'s row by its id', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: (em, w) => em7(em).clone(Project, w.b.project) },
  { name: 'em.clone of a row of the other tenant merged in', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: async (em, w) => {
    const foreign = await w.tenancy.unscoped(other => other.findOneOrFail(Project, w.b.project));
    return em7(em).clone(em.merge(foreign));
  } },
  { name: 'em.clone of an own row into the other tenant', refused: 'ERR_FOREIGN_TENANT_ROW', attempt: (em, w) => em7(em).clone(Project, { id: w.a.project }, { tenantId: 'b', name: `${SECRET}-forged` }) },
  { name: 'em.stream', attempt: em => collect(em7(em).stream(Project)) },
  { name: 'em.stream in a transaction', attempt: em => em7(em).transactional(tx => collect(tx.stream(Project))) },
  { name: 'em.countBy (group names)', attempt: async em => Object.keys(await em7(em).countBy(Project, 'name')) },
  { name: 'QueryBuilder stream', attempt: em => em.transactional(tx => collect(qb7((tx as SqlEntityManager).createQueryBuilder(Project).select('*')).stream())) },
  { name: 'QueryBuilder insert from a sub-query naming the other tenant', refused: t => (t.guard ? 'ERR_UNSCOPED_QUERY' : undefined), attempt: em => qb7(em.createQueryBuilder(Project))
    .insertFrom(em.createQueryBuilder(Project, 'p2').select([raw(`'${SECRET}-forged'`), raw('\'b\'')]).limit(1), { columns: ['name', 'tenant_id'] }).execute() },
  { name: 'em.execute raw SQL with an options bag', refused: rawRefused, attempt: em => em7(em).execute('select * from project', [], { method: 'all' }) },
];

/** With no tenant active, ways in that MikroORM 7 adds. */
const SINCE_7_WITHOUT_TENANT: readonly LeakPath[] = [
  { name: 'em.clone', refused: 'ERR_NO_TENANT_CONTEXT', attempt: (em, w) => em7(em).clone(Project, { id: w.b.project }) },
  { name: 'em.stream', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => collect(em7(em).stream(Project)) },
  { name: 'em.countBy', refused: 'ERR_NO_TENANT_CONTEXT', attempt: async em => Object.keys(await em7(em).countBy(Project, 'name')) },
];

/** The paths with no tenant active: the EntityManager is a plain fork of the shared one. */
const WITHOUT_TENANT_ALL_MAJORS: readonly LeakPath[] = [
  { name: 'find', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.find(Project, {}) },
  { name: 'findOne', refused: 'ERR_NO_TENANT_CONTEXT', attempt: (em, w) => em.findOne(Project, w.b.project) },
  { name: 'count', refused: 'ERR_NO_TENANT_CONTEXT', attempt: async em => ({ count: await em.count(Project), expected: 0 }) },
  { name: 'nativeUpdate', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.nativeUpdate(Project, {}, { name: 'overwritten' }) },
  { name: 'nativeDelete', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.nativeDelete(Task, {}) },
  { name: 'QueryBuilder select', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.createQueryBuilder(Project).select('*').getResultList() },
  { name: 'QueryBuilder update', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.createQueryBuilder(Project).update({ name: 'overwritten' }).execute() },
  { name: 'QueryBuilder join from a shared entity', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.createQueryBuilder(Task, 't').select('*').getResultList() },
  { name: 'create + flush', refused: 'ERR_NO_TENANT_CONTEXT', attempt: async em => {
    em.create(Project, { name: 'orphan' });
    await em.flush();
  } },
  { name: 'getReference + change + flush', refused: 'ERR_NO_TENANT_CONTEXT', attempt: async (em, w) => {
    em.getReference(Project, w.b.project).name = 'overwritten';
    await em.flush();
  } },
  { name: 'insert', refused: 'ERR_NO_TENANT_CONTEXT', attempt: em => em.insert(Project, { name: 'orphan' }) },
  { name: 'upsert', refused: 'ERR_NO_TENANT_CONTEXT', attempt: (em, w) => em.upsert(Project, { id: w.b.project, name: 'taken over' } as never) },
  { name: 'em.execute raw SQL', refused: rawRefused, attempt: em => em.execute('select * from project') },
  { name: 'tenancy.em', refused: 'ERR_NO_TENANT_CONTEXT', attempt: (_em, w) => w.tenancy.em.find(Project, {}) },
];

/** The paths from tenant a on the installed MikroORM major. */
export const FROM_OTHER_TENANT: readonly LeakPath[] = ormMajor() === 6 ? FROM_OTHER_TENANT_ALL_MAJORS : [...FROM_OTHER_TENANT_ALL_MAJORS, ...SINCE_7_FROM_OTHER_TENANT];

/** The paths with no tenant active on the installed MikroORM major. */
export const WITHOUT_TENANT: readonly LeakPath[] = ormMajor() === 6 ? WITHOUT_TENANT_ALL_MAJORS : [...WITHOUT_TENANT_ALL_MAJORS, ...SINCE_7_WITHOUT_TENANT];

/** The EntityManager of a path with no tenant. */
export function noTenantEm(tenancy: RowTenancy): SqlEntityManager {
  return (tenancy.orm.em as EntityManager).fork() as SqlEntityManager;
}

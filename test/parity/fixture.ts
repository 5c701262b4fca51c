/**
 * The parity fixture: one function of assertions, run once on a plain MikroORM and once through a tenant
 * EntityManager of a {@link SqliteTenancy} whose tenant entities are the same model. A MikroORM feature that
 * works on the first and not on the second is a defect of mikro-tenant, never a reason to change the assertion.
 * @module
 */
import { join } from 'node:path';
import { EntitySchema, MikroORM, RequestContext, type Configuration, type EntityName, type Options } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { SqlSchemaGenerator, type SqlEntityManager } from '@mikro-orm/knex';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { tempDir } from '../helpers.js';

/** Which side of the comparison is running. */
export type ParityMode = 'plain' | 'tenant';

/** Entities of one parity test, by name. */
export type ParityModel = Record<string, EntitySchema<any, any>>;

/** What a parity test runs on. */
export interface ParitySetup<M extends ParityModel> {
  /** Makes the entities; called once per run, so two discoveries never share schema objects. */
  model: () => M;
  /** MikroORM options of both runs (the shared ORM's in the tenant run). */
  options?: (model: M) => Partial<Options>;
  /** The tenant entities of the tenant run. @default every entity of the model */
  tenantEntities?: (model: M) => EntityName<any>[];
}

/** What a parity assertion function gets: the same names on both sides. */
export interface ParityContext<M extends ParityModel> {
  readonly mode: ParityMode;
  readonly model: M;
  /** A fresh EntityManager for this unit of work: `orm.em.fork()`, or the tenant EntityManager `tenancy.run()` hands out. */
  readonly em: SqlEntityManager;
  /** The app-wide EntityManager that resolves to the current context: `orm.em`, or `tenancy.em`. */
  readonly globalEm: SqlEntityManager;
  /** The app's MikroORM configuration (`orm.config`; the shared ORM's in the tenant run). */
  readonly config: Configuration;
  /** Lines written by MikroORM's logger (colours off), from the start of the assertions. */
  readonly logs: string[];
  /** A schema generator for `em`'s database: `orm.schema`, or one built on the tenant EntityManager. */
  schema(): SqlSchemaGenerator;
  /** Runs `fn` against a second database of the same model: a second ORM, or a second tenant. */
  inOther<T>(fn: (em: SqlEntityManager) => Promise<T>): Promise<T>;
}

const MAIN = 'main';
const OTHER = 'other';

/**
 * Declares a mocha suite running `fn` once on a plain MikroORM (better-sqlite, its own temporary file) and
 * once inside `tenancy.run()` with the model's entities as tenant entities.
 * @example
 * forBoth('result cache', { model: () => ({ Note: defineEntity(...) }) }, async ({ em, model }) => { ... });
 */
export function forBoth<M extends ParityModel>(title: string, setup: ParitySetup<M>, fn: (ctx: ParityContext<M>) => Promise<void>): void {
  describe(`parity: ${title}`, () => {
    it('on a plain MikroORM', () => runPlain(setup, fn));
    it('through a tenant EntityManager', () => runTenant(setup, fn));
  });
}

function baseOptions(logs: string[]): Partial<Options> {
  return { debug: false, colors: false, logger: line => logs.push(line.replace(/\x1B\[\d+m/g, '')) };
}

async function runPlain<M extends ParityModel>(setup: ParitySetup<M>, fn: (ctx: ParityContext<M>) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('parity-plain');
  const logs: string[] = [];
  const model = setup.model();
  // Two ORMs in one process need their own context names (MikroORM resolves context EntityManagers by name).
  const init = async (file: string, contextName?: string) => {
    const options = { ...baseOptions(logs), ...setup.options?.(model) };
    const orm = await MikroORM.init({
      driver: BetterSqliteDriver, dbName: join(dir, file), entities: Object.values(model), ...options,
      contextName: contextName ?? options.contextName,
    } as Options<BetterSqliteDriver>);
    await orm.schema.createSchema();
    return orm;
  };
  const orms: MikroORM<BetterSqliteDriver>[] = [];
  try {
    const orm = await init(`${MAIN}.sqlite3`);
    orms.push(orm);
    let other: MikroORM<BetterSqliteDriver> | undefined;
    logs.length = 0;
    await RequestContext.create(orm.em, () => fn({
      mode: 'plain', model, logs, config: orm.config, em: orm.em.fork(), globalEm: orm.em,
      schema: () => orm.schema,
      async inOther(inner) {
        if (!other) {
          other = await init(`${OTHER}.sqlite3`, OTHER);
          orms.push(other);
        }
        return RequestContext.create(other.em, () => inner(other!.em.fork()));
      },
    }));
  } finally {
    for (const orm of orms) {
      await orm.close(true);
    }
    cleanup();
  }
}

async function runTenant<M extends ParityModel>(setup: ParitySetup<M>, fn: (ctx: ParityContext<M>) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('parity-tenant');
  const logs: string[] = [];
  const model = setup.model();
  const tenancy = await SqliteTenancy.init({
    dbName: join(dir, 'shared.sqlite3'), entities: Object.values(model), ...baseOptions(logs), ...setup.options?.(model),
    tenancy: { dir: join(dir, 'tenants'), entities: setup.tenantEntities?.(model) ?? Object.values(model), warn: () => undefined },
  } as never);
  try {
    await tenancy.orm.schema.createSchema();
    await tenancy.createTenant(MAIN);
    logs.length = 0;
    await tenancy.run(MAIN, em => fn({
      mode: 'tenant', model, logs, config: tenancy.orm.config, em: em as SqlEntityManager, globalEm: tenancy.em as SqlEntityManager,
      schema: () => new SqlSchemaGenerator(em),
      inOther: inner => tenancy.run(OTHER, other => inner(other as SqlEntityManager)),
    }));
  } finally {
    await tenancy.close();
    cleanup();
  }
}

/** Names of the tables in `em`'s database file (not in attached ones). */
export async function tableNames(em: SqlEntityManager): Promise<string[]> {
  const rows = await em.getConnection().execute<{ name: string }[]>(`select name from main.sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`);
  return rows.map(r => r.name);
}

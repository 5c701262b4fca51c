/**
 * The parity fixture: one function of assertions, run on a plain MikroORM and through a tenant EntityManager
 * whose tenant entities are the same model, for each strategy: SQLite (a plain better-sqlite ORM, and a
 * {@link SqliteTenancy} tenant) and PostgreSQL (a plain PostgreSQL ORM, and a {@link PostgresSchemaTenancy}
 * tenant). A MikroORM feature that works on a plain ORM and not through its strategy's tenant is a defect of
 * mikro-tenant, never a reason to change the assertion.
 * @module
 */
import { join } from 'node:path';
import { EntitySchema, MikroORM, RequestContext, type Configuration, type EntityName, type Options } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { tempDir } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../postgres/helpers.js';
import { schemaGenerator, sqliteDriver, type SchemaGenerator } from '../orm-packages.js';

/** Which side of the comparison is running: SQLite plain and tenant, PostgreSQL plain and schema tenant. */
export type ParityMode = 'plain' | 'tenant' | 'pg-plain' | 'pg-schema';

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
  /**
   * Why the assertions cannot run on PostgreSQL (they test SQLite itself: its SQL dialect, its pragmas),
   * when they cannot; then the two PostgreSQL runs are not declared. @default they run on both engines
   */
  sqliteOnly?: string;
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
  schema(): SchemaGenerator;
  /** Runs `fn` against a second database of the same model: a second ORM, or a second tenant. */
  inOther<T>(fn: (em: SqlEntityManager) => Promise<T>): Promise<T>;
}

const MAIN = 'main';
const OTHER = 'other';

/**
 * Declares a mocha suite running `fn` once on a plain MikroORM (MikroORM's SQLite driver, its own temporary file) and
 * once inside `tenancy.run()` with the model's entities as tenant entities.
 * @example
 * forBoth('result cache', { model: () => ({ Note: defineEntity(...) }) }, async ({ em, model }) => { ... });
 */
export function forBoth<M extends ParityModel>(title: string, setup: ParitySetup<M>, fn: (ctx: ParityContext<M>) => Promise<void>): void {
  describe(`parity: ${title}`, () => {
    it('on a plain MikroORM', () => runPlain(setup, fn));
    it('through a tenant EntityManager', () => runTenant(setup, fn));
    if (!setup.sqliteOnly) {
      it('on a plain MikroORM over PostgreSQL', () => runPgPlain(setup, fn));
      it('through a PostgreSQL schema tenant', () => runPgSchema(setup, fn));
    }
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
  const driver = sqliteDriver();
  const init = async (file: string, contextName?: string) => {
    const options = { ...baseOptions(logs), ...setup.options?.(model) };
    const orm = await MikroORM.init({
      driver, dbName: join(dir, file), entities: Object.values(model), ...options,
      contextName: contextName ?? options.contextName,
    } as Options) as MikroORM<never, SqlEntityManager>;
    await schemaGenerator(orm.schema).create();
    return orm;
  };
  const orms: MikroORM<never, SqlEntityManager>[] = [];
  try {
    const orm = await init(`${MAIN}.sqlite3`);
    orms.push(orm);
    let other: MikroORM<never, SqlEntityManager> | undefined;
    logs.length = 0;
    await RequestContext.create(orm.em, () => fn({
      mode: 'plain', model, logs, config: orm.config, em: orm.em.fork(), globalEm: orm.em,
      schema: () => schemaGenerator(orm.schema),
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
  const tenancy = await SqliteTenancy.init<SqlEntityManager>({
    dbName: join(dir, 'shared.sqlite3'), entities: Object.values(model), ...baseOptions(logs), ...setup.options?.(model),
    tenancy: { dir: join(dir, 'tenants'), entities: setup.tenantEntities?.(model) ?? Object.values(model), warn: () => undefined },
  } as never);
  try {
    await tenancy.sharedSchema.create();
    await tenancy.createTenant(MAIN);
    logs.length = 0;
    await tenancy.run(MAIN, em => fn({
      mode: 'tenant', model, logs, config: tenancy.orm.config, em, globalEm: tenancy.em,
      // As an app builds schema tools for a tenant: on the tenant's EntityManager.
      schema: () => schemaGenerator(em.getPlatform().getSchemaGenerator(em.getDriver(), em)),
      inOther: inner => tenancy.run(OTHER, other => inner(other)),
    }));
  } finally {
    await tenancy.close();
    cleanup();
  }
}

async function runPgPlain<M extends ParityModel>(setup: ParitySetup<M>, fn: (ctx: ParityContext<M>) => Promise<void>): Promise<void> {
  const logs: string[] = [];
  const model = setup.model();
  const databases: TestDatabase[] = [];
  const orms: MikroORM<PostgreSqlDriver>[] = [];
  const init = async (contextName?: string) => {
    const db = await createTestDatabase('parity');
    databases.push(db);
    const options = { ...baseOptions(logs), ...setup.options?.(model) };
    const orm = await MikroORM.init({
      driver: PostgreSqlDriver, clientUrl: db.url, entities: Object.values(model), ...options, contextName: contextName ?? options.contextName,
    } as Options<PostgreSqlDriver>);
    orms.push(orm);
    await schemaGenerator(orm.schema).create();
    return orm;
  };
  try {
    const orm = await init();
    let other: MikroORM<PostgreSqlDriver> | undefined;
    logs.length = 0;
    await RequestContext.create(orm.em, () => fn({
      mode: 'pg-plain', model, logs, config: orm.config, em: orm.em.fork(), globalEm: orm.em,
      schema: () => schemaGenerator(orm.schema),
      async inOther(inner) {
        other ??= await init(OTHER);
        return RequestContext.create(other.em, () => inner(other!.em.fork()));
      },
    }));
  } finally {
    for (const orm of orms) {
      await orm.close(true);
    }
    for (const db of databases) {
      await db.drop();
    }
  }
}

async function runPgSchema<M extends ParityModel>(setup: ParitySetup<M>, fn: (ctx: ParityContext<M>) => Promise<void>): Promise<void> {
  const logs: string[] = [];
  const model = setup.model();
  const db = await createTestDatabase('parity');
  try {
    const tenancy = await PostgresSchemaTenancy.init<SqlEntityManager>({
      clientUrl: db.url, entities: Object.values(model), ...baseOptions(logs), ...setup.options?.(model),
      tenancy: { entities: setup.tenantEntities?.(model) ?? Object.values(model), warn: () => undefined },
    } as never);
    try {
      await schemaGenerator(tenancy.orm.schema).create();
      await tenancy.createTenant(MAIN);
      logs.length = 0;
      await tenancy.run(MAIN, em => fn({
        mode: 'pg-schema', model, logs, config: tenancy.orm.config, em, globalEm: tenancy.em,
        // As an app builds schema tools for a tenant: on the tenant's EntityManager.
        schema: () => schemaGenerator(em.getPlatform().getSchemaGenerator(em.getDriver(), em)),
        inOther: inner => tenancy.run(OTHER, other => inner(other)),
      }));
    } finally {
      await tenancy.close();
    }
  } finally {
    await db.drop();
  }
}

/** Names of the tables in `em`'s database file (not in attached ones), or in its PostgreSQL schema. */
export async function tableNames(em: SqlEntityManager): Promise<string[]> {
  if (em.getConnection() instanceof PostgreSqlConnection) {
    const rows = await em.getConnection().execute<{ name: string }[]>(
      "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name");
    return rows.map(r => r.name);
  }
  const rows = await em.getConnection().execute<{ name: string }[]>(`select name from main.sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`);
  return rows.map(r => r.name);
}

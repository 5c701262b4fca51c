/**
 * The listed-migration runner of both MikroORM majors: a tenant's pending migrations of a bundled list
 * (`migrationsList`), applied as MikroORM's Migrator applies them, without its per-run set-up. What
 * the majors' Migrators do here is the same (framing, statements, the row recorded), and so is the API
 * used: `Migration`, the schema helper's framing, the connection's `transactional()` and `execute()`.
 * @module
 */
import type { Configuration, EntityManager, MigrationsOptions } from '@mikro-orm/core';
import type { RawHandle } from './tenant-handle.js';

/**
 * What the runner uses of a migration. MikroORM 6's and 7's `Migration` classes both take `(driver,
 * config)` and have these members, with the same meaning.
 */
export interface ListedMigrationInstance {
  up(): Promise<void> | void;
  reset(): void;
  setTransactionContext(ctx: unknown): void;
  getQueries(): unknown[];
}

/** A migration class as MikroORM's `migrationsList` takes it. */
export type MigrationClass = new (driver: never, config: never) => ListedMigrationInstance;

/** One migration of a bundled list: its name as the migrations table records it (no `.js`/`.ts`) and its class. */
export interface ListedMigration {
  name: string;
  class: MigrationClass;
}

/** What the runner uses of a tenant connection (both majors' `TenantSqliteConnection` have it). */
interface RunnerConnection {
  readonly logsQueries: boolean;
  withHandle<T>(fn: (db: RawHandle) => T): Promise<T>;
  execute<T>(sql: string, params: unknown[], method: 'all' | 'run', ctx?: unknown, loggerContext?: unknown): Promise<T>;
  transactional<T>(cb: (trx: unknown) => Promise<T>, options: { loggerContext?: unknown }): Promise<T>;
}

/** What the runner uses of the driver and its platform's schema helper (the same in both majors). */
interface RunnerDriver {
  execute(sql: string, params: undefined, method: 'all', ctx: unknown, loggerContext: unknown): Promise<unknown>;
}

/** The schema helper's framing of a migration's statements (`getSchemaBeginning`/`getSchemaEnd`, same signature in both majors). */
interface SchemaFraming {
  getSchemaBeginning(charset: string, disableForeignKeys?: boolean): string;
  getSchemaEnd(disableForeignKeys?: boolean): string;
}

const PLAIN_TABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Thrown by the stand-in driver of {@link ListedMigrationRunner}'s script collection. */
class UsesDriver extends Error {}

/**
 * Applies a tenant's pending migrations the way MikroORM's `Migrator.up()` does (6 and 7 alike) with
 * `transactional` and `allOrNothing` on (the tenant defaults): each migration's `up()` with the transaction
 * as its context, its queries framed by the schema helper's beginning and end, then its row in the migrations
 * table (its `name`; `id` and `executed_at` are the table's defaults, as in the Migrator's insert), all in
 * one transaction, rolled back as a whole when one fails. It leaves out the Migrator's per-run set-up
 * (umzug on 6, listing and creating the table, reading the executed migrations twice, a savepoint per
 * migration, which changes nothing when the run commits or rolls back as one).
 *
 * Migrations whose `up()` only adds SQL (the usual case) run as one script on the tenant's handle, in a
 * `begin immediate` transaction that also re-reads the migrations table, so two runs racing for one
 * tenant never apply a migration twice. A migration whose `up()` uses the database (`execute()`,
 * `getKnex()` on 6, the kysely client on 7, `getEntityManager()`) runs through MikroORM's connection in a
 * transaction, as the Migrator runs it; so does everything while MikroORM logs queries. To tell them
 * apart, `up()` first runs with a driver that refuses every use: a class found using it is remembered and
 * not tried that way again.
 */
export class ListedMigrationRunner {
  readonly #list: ListedMigration[];
  readonly #options: MigrationsOptions;
  readonly #table: string;
  readonly #usesDriver = new WeakSet<MigrationClass>();

  /** @param list the migrations in order (see {@link listedMigrations}), @param options the tenant migrations options */
  constructor(list: ListedMigration[], options: MigrationsOptions) {
    this.#list = list;
    this.#options = options;
    this.#table = options.tableName ?? 'mikro_orm_migrations';
  }

  /**
   * Names of the migrations recorded in the tenant's migrations table, in the order they ran; `undefined`
   * when the table does not exist (a database never migrated, which the Migrator sets up).
   */
  async executed(em: EntityManager): Promise<string[] | undefined> {
    const connection = connectionOf(em);
    if (!connection.logsQueries && !em.getTransactionContext()) {
      return connection.withHandle(db => this.#readExecuted(db));
    }
    const ctx = em.getTransactionContext();
    const log = em.getLoggerContext();
    const tables = await connection.execute<{ name: string }[]>(
      'select name from sqlite_master where type = \'table\' and name = ?', [this.#table], 'all', ctx, log);
    if (tables.length === 0) {
      return undefined;
    }
    const rows = await connection.execute<{ name: string }[]>(`select \`name\` from \`${this.#table}\` order by \`id\``, [], 'all', ctx, log);
    return rows.map(row => row.name);
  }

  /** The listed migrations not in `executed`, in list order (as umzug computes them). */
  pending(executed: string[]): ListedMigration[] {
    const done = new Set(executed);
    return this.#list.filter(migration => !done.has(migration.name));
  }

  /**
   * Runs `pending` (computed from `executed`) in one transaction; rolls all of it back when one fails.
   * Resolves the names applied now and the table's names after (another process may have got there first).
   */
  async apply(em: EntityManager, executed: string[], pending: ListedMigration[]): Promise<{ applied: string[]; executed: string[] }> {
    const connection = connectionOf(em);
    const scripts = connection.logsQueries || em.getTransactionContext() ? undefined : await this.#scripts(em.config, pending);
    if (!scripts) {
      await this.#runThroughMikroOrm(em, pending);
    } else if (!await connection.withHandle(db => this.#runScripts(db, executed, pending, scripts))) {
      // The table changed since it was read (another process migrated meanwhile): start over from it.
      const now = (await this.executed(em))!;
      const still = this.pending(now);
      return still.length ? this.apply(em, now, still) : { applied: [], executed: now };
    }
    const applied = pending.map(m => m.name);
    return { applied, executed: [...executed, ...applied] };
  }

  async #runThroughMikroOrm(em: EntityManager, pending: ListedMigration[]): Promise<void> {
    const driver = em.getDriver() as unknown as RunnerDriver;
    const connection = connectionOf(em);
    // The tenant's label on every statement of the run (MikroORM's Migrator logs them without it).
    const log = em.getLoggerContext();
    await connection.transactional(async trx => {
      for (const { name, class: MigrationClass } of pending) {
        const migration = new MigrationClass(driver as never, em.config as never);
        migration.reset();
        migration.setTransactionContext(trx);
        await migration.up();
        for (const sql of this.#framed(em.config, migration.getQueries())) {
          await driver.execute(sql as string, undefined, 'all', trx, log);
        }
        await connection.execute(`insert into \`${this.#table}\` (\`name\`) values (?)`, [name], 'run', trx, log);
      }
    }, { loggerContext: log });
  }

  /**
   * Migrates a tenant on a bare handle of its file (no connection holds it), when that needs nothing of
   * MikroORM: the migrations table exists and every pending migration only adds SQL. Resolves undefined,
   * having done nothing, when it cannot (the caller then migrates through a connection).
   * @param config the tenants' configuration (what migrations get as `this.config`)
   */
  async applyOnHandle(db: RawHandle, config: Configuration): Promise<{ applied: string[]; executed: string[] } | undefined> {
    // The handle is this call's alone: one transaction from the read to the commit, held across the
    // collection of the scripts (another process migrating the tenant waits, then finds nothing to do).
    db.exec('begin immediate');
    try {
      const executed = this.#readExecuted(db);
      const pending = executed && this.pending(executed);
      const scripts = pending?.length ? await this.#scripts(config, pending) : undefined;
      if (!executed || !pending || (pending.length && !scripts)) {
        db.exec('rollback');
        return undefined;
      }
      const record = db.prepare(`insert into \`${this.#table}\` (\`name\`) values (?)`);
      for (const [i, migration] of pending.entries()) {
        for (const sql of scripts![i]!) {
          db.exec(sql);
        }
        record.run(migration.name);
      }
      db.exec('commit');
      const applied = pending.map(m => m.name);
      return { applied, executed: [...executed, ...applied] };
    } catch (error) {
      if (db.inTransaction) {
        db.exec('rollback');
      }
      throw error;
    }
  }

  /** Each pending migration's statements, when every one of them only adds SQL strings; else undefined. */
  async #scripts(config: Configuration, pending: ListedMigration[]): Promise<string[][] | undefined> {
    const scripts: string[][] = [];
    for (const { class: MigrationClass } of pending) {
      if (this.#usesDriver.has(MigrationClass)) {
        return undefined;
      }
      let used = false;
      const refusing = new Proxy({}, {
        get() {
          used = true;
          throw new UsesDriver('migration uses the driver');
        },
      });
      const migration = new MigrationClass(refusing as never, config as never);
      try {
        await migration.up();
      } catch (error) {
        if (!used) {
          throw error;
        }
      }
      const queries = this.#framed(config, migration.getQueries());
      if (used || !queries.every(sql => typeof sql === 'string')) {
        this.#usesDriver.add(MigrationClass);
        return undefined;
      }
      scripts.push(queries as string[]);
    }
    return scripts;
  }

  /** A migration's queries between the schema helper's beginning and end, blank ones dropped (as MikroORM's runner does). */
  #framed(config: Configuration, queries: unknown[]): unknown[] {
    const helper = (config.getPlatform() as unknown as { getSchemaHelper(): SchemaFraming }).getSchemaHelper();
    const charset = config.get('charset') as string;
    return [
      ...helper.getSchemaBeginning(charset, this.#options.disableForeignKeys).split('\n'),
      ...queries,
      ...helper.getSchemaEnd(this.#options.disableForeignKeys).split('\n'),
    ].filter(sql => typeof sql !== 'string' || sql.trim().length > 0);
  }

  /** The migrations table's names in the order they ran; `undefined` when there is no such table. */
  #readExecuted(db: RawHandle): string[] | undefined {
    let read: { pluck(): { all(): unknown[] } };
    try {
      read = db.prepare(`select \`name\` from \`${this.#table}\` order by \`id\``);
    } catch (error) {
      // SQLite refuses to prepare a statement on a table that does not exist.
      if (/no such table/i.test((error as Error).message)) {
        return undefined;
      }
      throw error;
    }
    return read.pluck().all() as string[];
  }

  /** Runs the scripts in one transaction, unless the migrations table no longer reads `executed` (then false, nothing done). */
  #runScripts(db: RawHandle, executed: string[], pending: ListedMigration[], scripts: string[][]): boolean {
    db.exec('begin immediate');
    try {
      const now = this.#readExecuted(db);
      if (!now || now.join('\n') !== executed.join('\n')) {
        db.exec('rollback');
        return false;
      }
      const record = db.prepare(`insert into \`${this.#table}\` (\`name\`) values (?)`);
      for (const [i, migration] of pending.entries()) {
        for (const sql of scripts[i]!) {
          db.exec(sql);
        }
        record.run(migration.name);
      }
      db.exec('commit');
      return true;
    } catch (error) {
      if (db.inTransaction) {
        db.exec('rollback');
      }
      throw error;
    }
  }
}

/**
 * True when {@link ListedMigrationRunner} does what MikroORM's Migrator would: a bundled list of `{ name,
 * class }` entries (the tenancy's options allow no other; the majors name a bare class differently), one
 * transaction for the whole run, a plain table name in the tenant's own database.
 */
export function canRunListed(options: MigrationsOptions): boolean {
  return Array.isArray(options.migrationsList)
    && options.migrationsList.every(entry => typeof entry === 'object' && typeof entry.name === 'string')
    && options.transactional !== false && options.allOrNothing !== false
    // MikroORM 7's `schema` (the schema a run targets) is not one the runner reads or writes.
    && (options as { schema?: string }).schema === undefined
    && PLAIN_TABLE.test(options.tableName ?? 'mikro_orm_migrations');
}

/** The `{ name, class }` entries of a `migrationsList` option, named as the migrations table records them. */
export function listedMigrations(options: MigrationsOptions): ListedMigration[] {
  return (options.migrationsList as { name: string; class: unknown }[] | undefined ?? [])
    .map(entry => ({ name: stripExtension(entry.name), class: entry.class as MigrationClass }));
}

/** The runner of these tenant migrations options, or null when {@link canRunListed} leaves them to MikroORM's Migrator. */
export function listedMigrationRunner(options: MigrationsOptions): ListedMigrationRunner | null {
  return canRunListed(options) ? new ListedMigrationRunner(listedMigrations(options), options) : null;
}

/** The tenant connection of `em`, as the runner uses it. */
function connectionOf(em: EntityManager): RunnerConnection {
  return em.getConnection() as unknown as RunnerConnection;
}

/** MikroORM records migration names without a `.js`/`.ts` extension. */
function stripExtension(name: string): string {
  return name.replace(/\.(js|ts)$/, '');
}

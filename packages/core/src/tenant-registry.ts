import type { EntityManager } from '@mikro-orm/core';
import { TenantError } from './errors.js';
import { checkTenantPage, type TenantPage } from './tenant-page.js';
import { FLAT_TRANSACTIONS, type TransactionInspector } from './transaction-inspector.js';

/** One row of the tenant registry. */
export interface TenantRecord {
  /** Canonical tenant id. */
  tenantId: string;
  /** Where the tenant's data lives, as the strategy names it (a file name inside the tenant folder, a schema name). */
  location: string;
  /** When the tenant was registered. */
  createdAt: Date;
  /** Identifies the schema the tenant was last migrated to (e.g. the last migration's name), if known. */
  schemaVersion: string | null;
}

/** Which tenants exist. Implementations must be safe to call concurrently. */
export interface TenantRegistry {
  /** Creates the registry's storage if it is missing. Idempotent. */
  ensure(): Promise<void>;
  /** Adds a tenant; a tenant that is already registered is left as it is. Returns true when a row was added. */
  register(record: Omit<TenantRecord, 'createdAt'> & { createdAt?: Date }): Promise<boolean>;
  /** Adds several tenants at once (tenants already registered are left as they are). Returns how many rows were added. */
  registerMany?(records: (Omit<TenantRecord, 'createdAt'> & { createdAt?: Date })[]): Promise<number>;
  /** Removes a tenant's row. Returns true when there was one. */
  unregister(tenantId: string): Promise<boolean>;
  /** True when the tenant is registered. */
  exists(tenantId: string): Promise<boolean>;
  /** One tenant's row, or `undefined`. */
  get(tenantId: string): Promise<TenantRecord | undefined>;
  /** Rows ordered by tenant id: all of them, or one page. @throws TenantError `ERR_INVALID_OPTION` for a bad page */
  list(page?: TenantPage): Promise<TenantRecord[]>;
  /** Records the schema version a tenant was migrated to. */
  setSchemaVersion(tenantId: string, version: string | null): Promise<void>;
  /** Records one schema version for several tenants (a migration run), in few statements. */
  setSchemaVersions?(tenantIds: string[], version: string | null): Promise<void>;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * A {@link TenantRegistry} kept in a table of the shared database, written with plain SQL through a
 * MikroORM connection (so it works on any SQL driver and needs no entity in the user's model).
 * Statements join the shared EntityManager's open transaction when there is one, so registering a
 * tenant inside `em.transactional()` of the shared ORM neither waits on that transaction nor outlives
 * its rollback.
 */
export class SqlTenantRegistry implements TenantRegistry {
  readonly #em: () => EntityManager;
  readonly #table: string;
  readonly #transactions: TransactionInspector;

  /**
   * @param em returns the shared EntityManager to use (called per operation, e.g. `() => orm.em.getContext(false)`)
   * @param table registry table name @default 'mikro_tenant_registry'
   * @param transactions tells finished transactions from open ones (the strategy's driver knows) @default every transaction taken as open
   * @throws TenantError `ERR_INVALID_OPTION` for a table name that is not a plain identifier
   */
  constructor(em: () => EntityManager, table = 'mikro_tenant_registry', transactions: TransactionInspector = FLAT_TRANSACTIONS) {
    if (!SqlTenantRegistry.isValidTableName(table)) {
      throw TenantError.invalidOption('registryTable', `"${table}" is not a plain SQL identifier`);
    }
    this.#em = em;
    this.#table = table;
    this.#transactions = transactions;
  }

  /** True for a table name this registry accepts: a plain SQL identifier (letters, digits, '_'; up to 63 characters). */
  static isValidTableName(table: unknown): table is string {
    return typeof table === 'string' && TABLE_NAME.test(table);
  }

  #execute<T>(sql: string, params: unknown[], method: 'all' | 'run'): Promise<T> {
    const em = this.#em();
    const trx = em.getTransactionContext();
    // After-commit hooks still see the finished transaction: never send statements into it.
    const usable = trx && !this.#transactions.isCompleted(trx) ? trx : undefined;
    return em.getConnection().execute(sql, params, method, usable) as Promise<T>;
  }

  /** The registry table's name. */
  get table(): string {
    return this.#table;
  }

  /** The insert of `rows` registrations (an existing tenant's row is kept), with {@link insertParams}' parameters. */
  insertSql(rows: number): string {
    return `insert into ${this.#table} (tenant_id, location, created_at, schema_version) values `
      + `${Array.from({ length: rows }, () => '(?, ?, ?, ?)').join(', ')} on conflict (tenant_id) do nothing`;
  }

  /** The parameters of {@link insertSql} for `records`, in order. */
  static insertParams(records: (Omit<TenantRecord, 'createdAt'> & { createdAt?: Date })[]): unknown[] {
    return records.flatMap(r => [r.tenantId, r.location, (r.createdAt ?? new Date()).getTime(), r.schemaVersion]);
  }

  async ensure(): Promise<void> {
    await this.#execute<unknown>(
      `create table if not exists ${this.#table} (`
      + 'tenant_id varchar(64) not null primary key, '
      + 'location varchar(1024) not null, '
      + 'created_at bigint not null, '
      + 'schema_version varchar(255) null)', [], 'run');
  }

  async register(record: Omit<TenantRecord, 'createdAt'> & { createdAt?: Date }): Promise<boolean> {
    const res = await this.#execute<unknown>(this.insertSql(1), SqlTenantRegistry.insertParams([record]), 'run');
    return affected(res) > 0;
  }

  async registerMany(records: (Omit<TenantRecord, 'createdAt'> & { createdAt?: Date })[]): Promise<number> {
    let added = 0;
    // 100 rows (400 parameters) per statement stays under every SQL engine's parameter limit.
    for (let i = 0; i < records.length; i += 100) {
      const chunk = records.slice(i, i + 100);
      const res = await this.#execute<unknown>(this.insertSql(chunk.length), SqlTenantRegistry.insertParams(chunk), 'run');
      added += affected(res);
    }
    return added;
  }

  async unregister(tenantId: string): Promise<boolean> {
    const res = await this.#execute<unknown>(`delete from ${this.#table} where tenant_id = ?`, [tenantId], 'run');
    return affected(res) > 0;
  }

  async exists(tenantId: string): Promise<boolean> {
    return (await this.get(tenantId)) !== undefined;
  }

  async get(tenantId: string): Promise<TenantRecord | undefined> {
    const rows = await this.#execute<Row[]>(`select * from ${this.#table} where tenant_id = ?`, [tenantId], 'all');
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(page?: TenantPage): Promise<TenantRecord[]> {
    checkTenantPage(page);
    // A page is a range of the primary key's index: its cost does not grow with the table.
    const after = page?.after !== undefined;
    const limit = page?.limit !== undefined;
    const rows = await this.#execute<Row[]>(
      `select * from ${this.#table}${after ? ' where tenant_id > ?' : ''} order by tenant_id${limit ? ' limit ?' : ''}`,
      [...(after ? [page.after] : []), ...(limit ? [page.limit] : [])], 'all');
    return rows.map(toRecord);
  }

  async setSchemaVersion(tenantId: string, version: string | null): Promise<void> {
    await this.#execute<unknown>(`update ${this.#table} set schema_version = ? where tenant_id = ?`, [version, tenantId], 'run');
  }

  async setSchemaVersions(tenantIds: string[], version: string | null): Promise<void> {
    // 500 ids (501 parameters) per statement stays under every SQL engine's parameter limit.
    for (let i = 0; i < tenantIds.length; i += 500) {
      const chunk = tenantIds.slice(i, i + 500);
      await this.#execute<unknown>(`update ${this.#table} set schema_version = ? where tenant_id in (${chunk.map(() => '?').join(', ')})`,
        [version, ...chunk], 'run');
    }
  }
}

interface Row {
  tenant_id: string;
  location: string;
  created_at: number | string | bigint;
  schema_version: string | null;
}

function toRecord(row: Row): TenantRecord {
  return {
    tenantId: row.tenant_id,
    location: row.location,
    createdAt: new Date(Number(row.created_at)),
    schemaVersion: row.schema_version ?? null,
  };
}

function affected(res: unknown): number {
  return Number((res as { affectedRows?: number }).affectedRows ?? 0);
}

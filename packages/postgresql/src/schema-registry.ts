import type { TenantPage, TenantRecord, TenantRegistration, TenantRegistry } from '@mikro-tenant/core';
import { quoteIdentifier } from './identifiers.js';

/** What the registry needs of a connection: MikroORM's `Connection.execute()`, and its inline formatting. */
export interface RegistryConnection {
  execute<T>(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run', ctx?: unknown, loggerContext?: { enabled?: boolean }): Promise<T>;
}

/** Formats `?` placeholders with values inline (MikroORM's `platform.formatQuery`), for statements sent in one script. */
export type FormatQuery = (sql: string, params: readonly unknown[]) => string;

interface Row {
  tenant_id: string;
  location: string;
  created_at: number | string;
  schema_version: string | null;
}

/**
 * The tenant registry of the schema strategy: a table in the shared schema, always named with its schema
 * (the shared schema need not be on the `search_path`). A new tenant's row is written in the same
 * transaction as its schema ({@link upsertSql}), and a deleted tenant's in the same transaction as the
 * `DROP SCHEMA` ({@link deleteSql}), so the registry and the schemas agree unless someone changes one
 * behind the library's back (`reconcile` repairs that).
 */
export class SchemaTenantRegistry implements TenantRegistry {
  readonly #connection: () => RegistryConnection;
  readonly #format: FormatQuery;
  /** The quoted, schema-qualified table name. */
  readonly table: string;

  /**
   * @param connection the shared ORM's connection (called per statement: it may reconnect)
   * @param format the shared platform's inline formatting
   * @param schema the shared schema
   * @param table the registry table (a validated identifier)
   */
  constructor(connection: () => RegistryConnection, format: FormatQuery, schema: string, table: string) {
    this.#connection = connection;
    this.#format = format;
    this.table = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  }

  #execute<T>(sql: string, params: unknown[], method: 'all' | 'run'): Promise<T> {
    return this.#connection().execute<T>(sql, params, method);
  }

  async ensure(): Promise<void> {
    // CREATE TABLE IF NOT EXISTS is not safe against itself: processes starting at once on a fresh database
    // can fail on the catalog's unique index. One transaction (one multi-statement query) under a lock
    // named after the table serialises them.
    await this.#execute(`select pg_advisory_xact_lock(hashtext('${this.table.replace(/'/g, "''")}'));\n`
      + `create table if not exists ${this.table} (`
      + 'tenant_id varchar(64) not null primary key, location varchar(1024) not null, '
      + 'created_at bigint not null, schema_version varchar(255) null)', [], 'run');
  }

  /** The statement that writes (or rewrites) a tenant's row, values inline: part of the provisioning script. */
  upsertSql(record: TenantRecord): string {
    return this.#format(`insert into ${this.table} (tenant_id, location, created_at, schema_version) values (?, ?, ?, ?) `
      + 'on conflict (tenant_id) do update set location = excluded.location, created_at = excluded.created_at, schema_version = excluded.schema_version',
    [record.tenantId, record.location, record.createdAt.getTime(), record.schemaVersion]);
  }

  /** The statement that removes a tenant's row, value inline: part of the deletion script. */
  deleteSql(tenantId: string): string {
    return this.#format(`delete from ${this.table} where tenant_id = ?`, [tenantId]);
  }

  async register(record: TenantRegistration): Promise<boolean> {
    const res = await this.#execute<{ affectedRows?: number }>(
      `insert into ${this.table} (tenant_id, location, created_at, schema_version) values (?, ?, ?, ?) on conflict (tenant_id) do nothing`,
      [record.tenantId, record.location, (record.createdAt ?? new Date()).getTime(), record.schemaVersion], 'run');
    return (res.affectedRows ?? 0) > 0;
  }

  async registerMany(records: TenantRegistration[]): Promise<number> {
    let added = 0;
    for (const record of records) {
      added += Number(await this.register(record));
    }
    return added;
  }

  async unregister(tenantId: string): Promise<boolean> {
    const res = await this.#execute<{ affectedRows?: number }>(`delete from ${this.table} where tenant_id = ?`, [tenantId], 'run');
    return (res.affectedRows ?? 0) > 0;
  }

  async exists(tenantId: string): Promise<boolean> {
    return (await this.get(tenantId)) !== undefined;
  }

  async get(tenantId: string): Promise<TenantRecord | undefined> {
    const rows = await this.#execute<Row[]>(`select * from ${this.table} where tenant_id = ?`, [tenantId], 'all');
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(page?: TenantPage): Promise<TenantRecord[]> {
    // A page is a range of the primary key's index (callers check the page: the deferred registry in front does).
    const after = page?.after !== undefined;
    const limit = page?.limit !== undefined;
    const rows = await this.#execute<Row[]>(
      `select * from ${this.table}${after ? ' where tenant_id > ?' : ''} order by tenant_id${limit ? ' limit ?' : ''}`,
      [...(after ? [page.after] : []), ...(limit ? [page.limit] : [])], 'all');
    return rows.map(toRecord);
  }

  async setSchemaVersions(tenantIds: string[], version: string | null): Promise<void> {
    for (let i = 0; i < tenantIds.length; i += 500) {
      const chunk = tenantIds.slice(i, i + 500);
      await this.#execute(`update ${this.table} set schema_version = ? where tenant_id in (${chunk.map(() => '?').join(', ')})`, [version, ...chunk], 'run');
    }
  }

  async setSchemaVersion(tenantId: string, version: string | null): Promise<void> {
    await this.#execute(`update ${this.table} set schema_version = ? where tenant_id = ?`, [version, tenantId], 'run');
  }
}

function toRecord(row: Row): TenantRecord {
  return { tenantId: row.tenant_id, location: row.location, createdAt: new Date(Number(row.created_at)), schemaVersion: row.schema_version ?? null };
}

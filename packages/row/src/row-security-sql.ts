import type { RowScope } from './row-scope.js';
import type { TenantOwnedTable } from './tenant-owned-model.js';

/** The transaction-local setting naming the tenant of PostgreSQL statements. */
export const TENANT_SETTING = 'mikro_tenant.tenant_id';
/** The transaction-local setting `unscoped()` turns on: its statements see every tenant. */
export const ALL_TENANTS_SETTING = 'mikro_tenant.all_tenants';
/** Name of the policy on each tenant-owned table. */
export const POLICY_NAME = 'mikro_tenant_row';
/** Name of the trigger refusing `TRUNCATE` (which row level security does not cover) outside `unscoped()`. */
export const TRUNCATE_TRIGGER_NAME = 'mikro_tenant_no_truncate';

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, quoted. */
export function qualifiedTable(table: Pick<TenantOwnedTable, 'schema' | 'table'>): string {
  return table.schema ? `${quote(table.schema)}.${quote(table.table)}` : quote(table.table);
}

/**
 * The SQL that makes PostgreSQL enforce the tenant column itself: on each tenant-owned table, row level
 * security enabled and forced (so it binds the tables' owner too; superusers and `BYPASSRLS` roles are never
 * bound) and one policy whose `USING` (rows seen, updated, deleted) and `WITH CHECK` (rows written) accept
 * only rows of the tenant the transaction names, or every row in `unscoped()`. Without a setting a statement
 * sees no row and writes none. `TRUNCATE` ignores policies: a statement trigger refuses it outside
 * `unscoped()`. Re-runnable: put it in a migration after the tables' own.
 */
export function rowSecurityStatements(tables: readonly TenantOwnedTable[]): string[] {
  const refuseTruncate = `create or replace function ${TRUNCATE_TRIGGER_NAME}() returns trigger language plpgsql as $$ begin `
    + `if coalesce(current_setting('${ALL_TENANTS_SETTING}', true), '') <> 'on' then `
    + `raise exception 'mikro-tenant: % is shared by every tenant; truncate it inside unscoped()', tg_table_name using errcode = '42501'; `
    + 'end if; return null; end $$';
  return [refuseTruncate, ...tables.flatMap(table => {
    const name = qualifiedTable(table);
    const check = `${quote(table.column)} = current_setting('${TENANT_SETTING}', true) or current_setting('${ALL_TENANTS_SETTING}', true) = 'on'`;
    return [
      `alter table ${name} enable row level security`,
      `alter table ${name} force row level security`,
      `drop policy if exists ${POLICY_NAME} on ${name}`,
      `create policy ${POLICY_NAME} on ${name} using (${check}) with check (${check})`,
      `drop trigger if exists ${TRUNCATE_TRIGGER_NAME} on ${name}`,
      `create trigger ${TRUNCATE_TRIGGER_NAME} before truncate on ${name} for each statement execute function ${TRUNCATE_TRIGGER_NAME}()`,
    ];
  })];
}

/** What {@link settingStatement} needs of MikroORM's platform (the same on both majors). */
export interface ValueFormatter {
  formatQuery(sql: string, params: readonly unknown[]): string;
}

/** The statement that tells PostgreSQL the scope for the rest of the transaction, or `undefined` for none. */
export function settingStatement(scope: RowScope, platform: ValueFormatter): string | undefined {
  if (!scope) {
    return undefined;
  }
  return 'all' in scope
    ? `select set_config('${ALL_TENANTS_SETTING}', 'on', true)`
    : platform.formatQuery(`select set_config('${TENANT_SETTING}', ?, true)`, [scope.tenantId]);
}

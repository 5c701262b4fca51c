import type { TenantInfo, TenantRecord, TenantRegistry } from '@mikro-tenant/core';
import type { RegistryConnection } from './schema-registry.js';
import type { TenantSchemas } from './tenant-schemas.js';

/** What {@link reconcileWithSchemas} found when comparing the registry with the database's schemas. */
export interface SchemaReconcileReport {
  /** Registered tenants whose schema is missing. */
  missingSchemas: string[];
  /** Tenant schemas (named by the pattern) with no registry row. */
  unregistered: string[];
}

/** Registry rows with the size of their schemas (tables, indexes and TOAST); `modifiedAt` is not known to PostgreSQL. */
export async function withSchemaSizes(connection: RegistryConnection, records: TenantRecord[]): Promise<TenantInfo[]> {
  if (records.length === 0) {
    return records;
  }
  const rows = await connection.execute<{ schema: string; size: string | number }[]>(
    'select n.nspname as schema, coalesce(sum(pg_total_relation_size(c.oid)), 0) as size from pg_namespace n '
    + "left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'm', 'p') "
    + `where n.nspname in (${records.map(() => '?').join(', ')}) group by n.nspname`,
    records.map(record => record.location), 'all');
  const sizes = new Map(rows.map(row => [row.schema, Number(row.size)]));
  return records.map(record => (sizes.has(record.location) ? { ...record, sizeBytes: sizes.get(record.location)! } : record));
}

/**
 * Compares the registry with the schemas the pattern names (one catalog query); with `fix`, registers
 * tenant schemas without a row and drops rows without a schema.
 */
export async function reconcileWithSchemas(connection: RegistryConnection, schemas: TenantSchemas, registry: TenantRegistry,
  fix: boolean): Promise<SchemaReconcileReport> {
  const [records, rows] = await Promise.all([
    registry.list(),
    connection.execute<{ nspname: string }[]>("select nspname from pg_namespace where nspname like ? escape '\\'", [schemas.likePattern], 'all'),
  ]);
  const present = new Map<string, string>();
  for (const { nspname } of rows) {
    const id = schemas.tenantIdOf(nspname);
    if (id !== undefined) {
      present.set(id, nspname);
    }
  }
  const registered = new Set(records.map(r => r.tenantId));
  const report = {
    missingSchemas: records.map(r => r.tenantId).filter(id => !present.has(id)),
    unregistered: [...present.keys()].filter(id => !registered.has(id)).sort(),
  };
  if (fix) {
    for (const id of report.unregistered) {
      await registry.register({ tenantId: id, location: present.get(id)!, schemaVersion: null });
    }
    for (const id of report.missingSchemas) {
      await registry.unregister(id);
    }
  }
  return report;
}

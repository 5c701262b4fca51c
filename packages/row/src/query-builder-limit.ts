/**
 * What limiting a QueryBuilder to its tenant does, the same on MikroORM 6 and 7: the main entity's rows and
 * the joined tenant-owned entities' rows are limited; a truncate, an insert that merges on conflict or copies
 * rows from a sub-query is refused. Each major's `query-builder-scope.ts` patches its QueryBuilder's
 * `finalize()` and hands this its internals as a {@link QueryBuilderView}.
 * @module
 */
import { TenantError } from '@mikro-tenant/core';
import { requireTenant, type RowScope } from './row-scope.js';
import type { TenantOwnedModel } from './tenant-owned-model.js';

/** What a QueryBuilder was made for: kept on it by its major's `scopeQueryBuilder()`. */
export interface QueryBuilderScope {
  readonly scope: RowScope;
  readonly model: TenantOwnedModel;
}

/** A QueryBuilder's state as read here; each major maps its own internals (6: `_joins`…, 7: `state`) to it. */
export interface QueryBuilderView {
  /** `SELECT`, `COUNT`, `INSERT`, `UPSERT`, `UPDATE`, `DELETE`, `TRUNCATE`. */
  readonly type: string;
  readonly aliasName: string;
  readonly meta?: { className: string; properties: Record<string, { fieldNames?: string[] }> };
  /** The joins; their `cond` is extended in place. */
  readonly joins?: Record<string, { alias: string; cond?: Record<string, unknown>; prop?: { targetMeta?: { className: string } } }>;
  /** The rows an insert writes; filled in place. */
  readonly data?: Record<string, unknown> | Record<string, unknown>[];
  readonly onConflict?: unknown[];
  readonly insertSubQuery?: unknown;
  andWhere(cond: Record<string, unknown>): unknown;
}

/**
 * Limits the QueryBuilder `qb` shows to the tenant of `scope`, or refuses it.
 * @throws TenantError `ERR_UNSCOPED_QUERY` for what cannot be limited; `ERR_FOREIGN_TENANT_ROW` for an insert naming another tenant
 */
export function limitToTenant(qb: QueryBuilderView, { scope, model }: QueryBuilderScope): void {
  const meta = qb.meta;
  const prop = model.propertyOf(meta?.className);
  const type = qb.type;
  if (prop && meta) {
    const tenantId = requireTenant(scope, `a QueryBuilder on ${meta.className}`);
    if (tenantId !== undefined) {
      if (type === 'TRUNCATE') {
        throw TenantError.unscopedQuery(`Truncating ${meta.className}`);
      }
      if (type === 'INSERT' || type === 'UPSERT') {
        fillInsert(qb, meta.className, prop, meta.properties[prop]?.fieldNames?.[0] ?? prop, tenantId);
      } else {
        qb.andWhere({ [type === 'SELECT' || type === 'COUNT' ? `${qb.aliasName}.${prop}` : prop]: tenantId });
      }
    }
  }
  for (const join of Object.values(qb.joins ?? {})) {
    const joined = model.propertyOf(join.prop?.targetMeta?.className);
    if (!joined) {
      continue;
    }
    const tenantId = requireTenant(scope, `a QueryBuilder joining ${join.prop!.targetMeta!.className}`);
    if (tenantId !== undefined) {
      join.cond = { ...join.cond, [`${join.alias}.${joined}`]: tenantId };
    }
  }
}

function fillInsert(qb: QueryBuilderView, className: string, prop: string, field: string, tenantId: string): void {
  if (qb.onConflict?.length) {
    throw TenantError.unscopedQuery(`An insert into ${className} that merges on conflict`);
  }
  if (qb.insertSubQuery) {
    throw TenantError.unscopedQuery(`An insert into ${className} from a sub-query`);
  }
  const rows = Array.isArray(qb.data) ? qb.data : qb.data ? [qb.data] : [];
  for (const row of rows) {
    const key = prop in row ? prop : field in row ? field : undefined;
    if (key === undefined || row[key] == null) {
      row[field] = tenantId;
    } else if (row[key] !== tenantId) {
      throw TenantError.foreignTenantRow(className, 'an insert naming another tenant');
    }
  }
}

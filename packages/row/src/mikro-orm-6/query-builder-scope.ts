/**
 * QueryBuilders made by a tenant EntityManager are limited to its tenant when MikroORM finalizes them (the
 * one step every way of running or printing one goes through, clones included): the main entity's rows and
 * the joined tenant-owned entities' rows. What cannot be limited (a truncate, an insert that merges on
 * conflict) is refused. MikroORM 6's QueryBuilder applies no filters by itself.
 * @module
 */
import { QueryBuilder } from '@mikro-orm/knex';
import { TenantError } from '@mikro-tenant/core';
import { requireTenant, type RowScope } from '../row-scope.js';
import type { TenantOwnedModel } from '../tenant-owned-model.js';

/** Own property of a marked QueryBuilder (a string key: `clone()` copies own enumerable keys). */
const MARK = '__mikroTenantRow';
const PATCHED = Symbol.for('mikro-tenant.row.queryBuilder');

interface QueryBuilderScope {
  readonly scope: RowScope;
  readonly model: TenantOwnedModel;
}

interface QueryBuilderInternals {
  [MARK]?: QueryBuilderScope;
  finalized: boolean;
  type?: string;
  mainAlias: { aliasName: string; metadata?: { className: string; properties: Record<string, { fieldNames?: string[] }> } };
  _joins: Record<string, { alias: string; cond?: Record<string, unknown>; prop?: { targetMeta?: { className: string } } }>;
  _data?: Record<string, unknown> | Record<string, unknown>[];
  _onConflict?: unknown[];
  andWhere(cond: Record<string, unknown>): unknown;
}

/** Marks `qb` as made for `scope`: it is limited to the scope's tenant when finalized. */
export function scopeQueryBuilder<T>(qb: T, scope: RowScope, model: TenantOwnedModel): T {
  patchQueryBuilder();
  Object.defineProperty(qb, MARK, { value: { scope, model }, enumerable: true, writable: true, configurable: true });
  return qb;
}

function patchQueryBuilder(): void {
  const proto = QueryBuilder.prototype as unknown as { finalize(): void; [PATCHED]?: true };
  if (proto[PATCHED]) {
    return;
  }
  const finalize = proto.finalize;
  Object.defineProperty(proto, PATCHED, { value: true });
  proto.finalize = function finalizeInTenant(this: QueryBuilderInternals) {
    const mark = this[MARK];
    if (mark && !this.finalized) {
      limitToTenant(this, mark);
    }
    return finalize.call(this);
  };
}

function limitToTenant(qb: QueryBuilderInternals, { scope, model }: QueryBuilderScope): void {
  const meta = qb.mainAlias.metadata;
  const prop = model.propertyOf(meta?.className);
  const type = qb.type ?? 'SELECT';
  if (prop && meta) {
    const tenantId = requireTenant(scope, `a QueryBuilder on ${meta.className}`);
    if (tenantId !== undefined) {
      if (type === 'TRUNCATE') {
        throw TenantError.unscopedQuery(`Truncating ${meta.className}`);
      }
      if (type === 'INSERT' || type === 'UPSERT') {
        fillInsert(qb, meta.className, prop, meta.properties[prop]?.fieldNames?.[0] ?? prop, tenantId);
      } else {
        qb.andWhere({ [type === 'SELECT' || type === 'COUNT' ? `${qb.mainAlias.aliasName}.${prop}` : prop]: tenantId });
      }
    }
  }
  for (const join of Object.values(qb._joins ?? {})) {
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

function fillInsert(qb: QueryBuilderInternals, className: string, prop: string, field: string, tenantId: string): void {
  if (qb._onConflict?.length) {
    throw TenantError.unscopedQuery(`An insert into ${className} that merges on conflict`);
  }
  const rows = Array.isArray(qb._data) ? qb._data : qb._data ? [qb._data] : [];
  for (const row of rows) {
    const key = prop in row ? prop : field in row ? field : undefined;
    if (key === undefined || row[key] == null) {
      row[field] = tenantId;
    } else if (row[key] !== tenantId) {
      throw TenantError.foreignTenantRow(className, 'an insert naming another tenant');
    }
  }
}

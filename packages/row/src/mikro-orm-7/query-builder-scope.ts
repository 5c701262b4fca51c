/**
 * QueryBuilders made by a tenant EntityManager are limited to its tenant when MikroORM finalizes them (the
 * one step every way of running, printing, streaming or nesting one goes through): the main entity's rows
 * and the joined tenant-owned entities' rows. What cannot be limited (a truncate, an insert that merges on
 * conflict or copies rows from a sub-query) is refused. MikroORM 7's QueryBuilder applies filters only when
 * asked (`applyFilters()`), and its `clone()` builds a new QueryBuilder, so the mark is carried over there.
 * @module
 */
import { QueryBuilder } from '@mikro-orm/sql';
import { TenantError } from '@mikro-tenant/core';
import { requireTenant, type RowScope } from '../row-scope.js';
import type { TenantOwnedModel } from '../tenant-owned-model.js';

/** Where the scope of a marked QueryBuilder is kept (MikroORM 7 keeps its state in a private field). */
const MARKS = new WeakMap<object, QueryBuilderScope>();
const PATCHED = Symbol.for('mikro-tenant.row.queryBuilder7');

interface QueryBuilderScope {
  readonly scope: RowScope;
  readonly model: TenantOwnedModel;
}

/** The parts of MikroORM 7's QueryBuilder state read here (`qb.state`, internal). */
interface QueryBuilderState {
  finalized: boolean;
  joins: Record<string, { alias: string; cond?: Record<string, unknown>; prop?: { targetMeta?: { className: string } } }>;
  data?: Record<string, unknown> | Record<string, unknown>[];
  onConflict?: unknown[];
  insertSubQuery?: unknown;
}

interface QueryBuilderInternals {
  readonly state: QueryBuilderState;
  readonly type: string;
  readonly mainAlias: { aliasName: string; meta?: { className: string; properties: Record<string, { fieldNames?: string[] }> } };
  andWhere(cond: Record<string, unknown>): unknown;
}

/** Marks `qb` as made for `scope`: it is limited to the scope's tenant when finalized. */
export function scopeQueryBuilder<T extends object>(qb: T, scope: RowScope, model: TenantOwnedModel): T {
  patchQueryBuilder();
  MARKS.set(qb, { scope, model });
  return qb;
}

function patchQueryBuilder(): void {
  const proto = QueryBuilder.prototype as unknown as { finalize(): void; clone(...args: unknown[]): object; [PATCHED]?: true };
  if (proto[PATCHED]) {
    return;
  }
  const { finalize, clone } = proto;
  Object.defineProperty(proto, PATCHED, { value: true });
  proto.finalize = function finalizeInTenant(this: QueryBuilderInternals) {
    const mark = MARKS.get(this);
    if (mark && !this.state.finalized) {
      limitToTenant(this, mark);
    }
    return finalize.call(this);
  };
  proto.clone = function cloneInTenant(this: object, ...args: unknown[]) {
    const copy = clone.apply(this, args);
    const mark = MARKS.get(this);
    if (mark) {
      MARKS.set(copy, mark);
    }
    return copy;
  };
}

function limitToTenant(qb: QueryBuilderInternals, { scope, model }: QueryBuilderScope): void {
  const meta = qb.mainAlias.meta;
  const prop = model.propertyOf(meta?.className);
  const type = qb.type;
  if (prop && meta) {
    const tenantId = requireTenant(scope, `a QueryBuilder on ${meta.className}`);
    if (tenantId !== undefined) {
      if (type === 'TRUNCATE') {
        throw TenantError.unscopedQuery(`Truncating ${meta.className}`);
      }
      if (type === 'INSERT' || type === 'UPSERT') {
        fillInsert(qb.state, meta.className, prop, meta.properties[prop]?.fieldNames?.[0] ?? prop, tenantId);
      } else {
        qb.andWhere({ [type === 'SELECT' || type === 'COUNT' ? `${qb.mainAlias.aliasName}.${prop}` : prop]: tenantId });
      }
    }
  }
  for (const join of Object.values(qb.state.joins ?? {})) {
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

function fillInsert(state: QueryBuilderState, className: string, prop: string, field: string, tenantId: string): void {
  if (state.onConflict?.length) {
    throw TenantError.unscopedQuery(`An insert into ${className} that merges on conflict`);
  }
  if (state.insertSubQuery) {
    throw TenantError.unscopedQuery(`An insert into ${className} from a sub-query`);
  }
  const rows = Array.isArray(state.data) ? state.data : state.data ? [state.data] : [];
  for (const row of rows) {
    const key = prop in row ? prop : field in row ? field : undefined;
    if (key === undefined || row[key] == null) {
      row[field] = tenantId;
    } else if (row[key] !== tenantId) {
      throw TenantError.foreignTenantRow(className, 'an insert naming another tenant');
    }
  }
}

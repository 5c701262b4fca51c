/**
 * QueryBuilders made by a tenant EntityManager are limited to its tenant when MikroORM finalizes them (the
 * one step every way of running, printing, streaming or nesting one goes through); what that does is
 * ../query-builder-limit.ts. MikroORM 7's QueryBuilder applies filters only when asked (`applyFilters()`),
 * and its `clone()` builds a new QueryBuilder, so the mark is carried over there.
 * @module
 */
import { QueryBuilder } from '@mikro-orm/sql';
import { limitToTenant, type QueryBuilderScope, type QueryBuilderView } from '../query-builder-limit.js';
import type { RowScope } from '../row-scope.js';
import type { TenantOwnedModel } from '../tenant-owned-model.js';

/** Where the scope of a marked QueryBuilder is kept (MikroORM 7 keeps its state in a private field). */
const MARKS = new WeakMap<object, QueryBuilderScope>();
const PATCHED = Symbol.for('mikro-tenant.row.queryBuilder7');

/** The parts of MikroORM 7's QueryBuilder state read here (`qb.state`, internal). */
interface QueryBuilderState {
  finalized: boolean;
  joins: QueryBuilderView['joins'];
  data?: QueryBuilderView['data'];
  onConflict?: unknown[];
  insertSubQuery?: unknown;
}

interface QueryBuilderInternals {
  readonly state: QueryBuilderState;
  readonly type: string;
  readonly mainAlias: { aliasName: string; meta?: QueryBuilderView['meta'] };
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
      limitToTenant(viewOf(this), mark);
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

function viewOf(qb: QueryBuilderInternals): QueryBuilderView {
  const { state } = qb;
  return {
    type: qb.type,
    aliasName: qb.mainAlias.aliasName,
    meta: qb.mainAlias.meta,
    joins: state.joins,
    data: state.data,
    onConflict: state.onConflict,
    insertSubQuery: state.insertSubQuery,
    andWhere: cond => qb.andWhere(cond),
  };
}

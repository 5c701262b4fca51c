/**
 * QueryBuilders made by a tenant EntityManager are limited to its tenant when MikroORM finalizes them (the
 * one step every way of running or printing one goes through, clones included); what that does is
 * ../query-builder-limit.ts. MikroORM 6's QueryBuilder applies no filters by itself.
 * @module
 */
import { QueryBuilder } from '@mikro-orm/knex';
import { limitToTenant, type QueryBuilderScope, type QueryBuilderView } from '../query-builder-limit.js';
import type { RowScope } from '../row-scope.js';
import type { TenantOwnedModel } from '../tenant-owned-model.js';

/** Own property of a marked QueryBuilder (a string key: `clone()` copies own enumerable keys). */
const MARK = '__mikroTenantRow';
const PATCHED = Symbol.for('mikro-tenant.row.queryBuilder');

/** The parts of MikroORM 6's QueryBuilder read here (internal). */
interface QueryBuilderInternals {
  [MARK]?: QueryBuilderScope;
  finalized: boolean;
  type?: string;
  mainAlias: { aliasName: string; metadata?: QueryBuilderView['meta'] };
  _joins: QueryBuilderView['joins'];
  _data?: QueryBuilderView['data'];
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
      limitToTenant(viewOf(this), mark);
    }
    return finalize.call(this);
  };
}

function viewOf(qb: QueryBuilderInternals): QueryBuilderView {
  return {
    type: qb.type ?? 'SELECT',
    aliasName: qb.mainAlias.aliasName,
    meta: qb.mainAlias.metadata,
    joins: qb._joins,
    data: qb._data,
    onConflict: qb._onConflict,
    andWhere: cond => qb.andWhere(cond),
  };
}

import { QueryBuilder } from '@mikro-orm/knex';
import type { AssertShared } from '../shared-driver-guard.js';

/** Members of a MikroORM 6 QueryBuilder the check reads (protected or private in its typings). */
interface QueryBuilderInternals {
  _query?: { qb?: unknown };
  _aliases: Record<string, { entityName: string }>;
  _joins: Record<string, { prop: { type?: string; pivotEntity?: string } }>;
  finalize(): void;
}

/** Every entity a QueryBuilder's SQL names: its main entity, each alias, each joined relation and pivot. */
function* entitiesOf(qb: QueryBuilderInternals): Generator<string | undefined> {
  for (const alias of Object.values(qb._aliases)) {
    yield alias.entityName;
  }
  for (const join of Object.values(qb._joins)) {
    yield join.prop.type;
    yield join.prop.pivotEntity;
  }
}

/**
 * The class of the shared driver's QueryBuilders. Before it produces SQL (`getKnexQuery()`, which
 * `execute()`, `getResultList()`, `getCount()`, `toQuery()` and sub-queries go through, and `getKnex()`)
 * it checks every entity it names, whichever way they got there: the root, `.join()` and
 * `.leftJoinAndSelect()`, joins for populate hints, conditions, ordering and auto-joined one-to-ones,
 * pivot tables, sub-queries. Its clones (counts, paginated sub-queries) are of the same class.
 *
 * Made a class per guarded driver so the check is a closure, not state on every QueryBuilder.
 */
export function sharedQueryBuilderClass(assertShared: AssertShared): typeof QueryBuilder {
  class SharedQueryBuilder extends QueryBuilder<any, any, any, any> {
    override getKnexQuery(processVirtualEntity?: boolean): ReturnType<QueryBuilder['getKnexQuery']> {
      const self = this as unknown as QueryBuilderInternals;
      if (!self._query?.qb) {
        // Finalizing adds the joins of populate hints and one-to-one owners: check after it, before any SQL.
        self.finalize();
        assertShared(entitiesOf(self));
      }
      return super.getKnexQuery(processVirtualEntity);
    }

    override getKnex(processVirtualEntity?: boolean): ReturnType<QueryBuilder['getKnex']> {
      assertShared(entitiesOf(this as unknown as QueryBuilderInternals));
      return super.getKnex(processVirtualEntity);
    }

    // MikroORM's clone() constructs a plain QueryBuilder: keep the clone guarded.
    override clone(reset?: boolean | string[], preserve?: string[]): QueryBuilder<any> {
      return Object.setPrototypeOf(super.clone(reset, preserve), SharedQueryBuilder.prototype) as QueryBuilder<any>;
    }
  }
  return SharedQueryBuilder as unknown as typeof QueryBuilder;
}

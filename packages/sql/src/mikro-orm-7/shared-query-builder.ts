import { QueryBuilder } from '@mikro-orm/sql';
import type { AssertShared } from '../shared-driver-guard.js';

/** The parts of a MikroORM 7 QueryBuilder's state the check reads (`qb.state`, internal in its typings). */
interface QueryBuilderState {
  unionQuery?: unknown;
  aliases: Record<string, { entityName: unknown }>;
  joins: Record<string, { prop?: { type?: unknown; target?: unknown; pivotEntity?: unknown } }>;
}

/** Every entity a QueryBuilder's SQL names: its main entity, each alias, each joined relation and pivot. */
function* entitiesOf(state: QueryBuilderState): Generator<unknown> {
  for (const alias of Object.values(state.aliases)) {
    yield alias.entityName;
  }
  for (const join of Object.values(state.joins)) {
    yield join.prop?.type;
    yield join.prop?.pivotEntity;
  }
}

const stateOf = (qb: QueryBuilder<any>) => (qb as unknown as { state: QueryBuilderState }).state;

/**
 * The class of the shared driver's QueryBuilders in MikroORM 7. Before it produces SQL (`getNativeQuery()`,
 * which `execute()`, `getResultList()`, `getCount()`, `toQuery()`, `toRaw()`, `stream()` and sub-queries go
 * through) it checks every entity it names, whichever way they got there: the root, `.join()` and
 * `.leftJoinAndSelect()`, joins for populate hints, conditions, ordering and auto-joined one-to-ones, pivot
 * tables, sub-queries. Its clones (counts, paginated sub-queries) are of the same class. A union is made
 * of QueryBuilders that are each checked.
 *
 * Made a class per guarded driver so the check is a closure, not state on every QueryBuilder.
 */
export function sharedQueryBuilderClass(assertShared: AssertShared): typeof QueryBuilder {
  class SharedQueryBuilder extends QueryBuilder<any, any, any, any> {
    override getNativeQuery(processVirtualEntity?: boolean): ReturnType<QueryBuilder['getNativeQuery']> {
      const state = stateOf(this);
      if (!state.unionQuery) {
        // Finalizing adds the joins of populate hints and one-to-one owners: check after it, before any SQL.
        (this as unknown as { finalize(): void }).finalize();
        assertShared(entitiesOf(state));
      }
      return super.getNativeQuery(processVirtualEntity);
    }

    // MikroORM's clone() constructs a plain QueryBuilder: keep the clone guarded.
    override clone(reset?: boolean | string[], preserve?: string[]): QueryBuilder<any> {
      return Object.setPrototypeOf(super.clone(reset as never, preserve as never), SharedQueryBuilder.prototype) as QueryBuilder<any>;
    }
  }
  return SharedQueryBuilder as unknown as typeof QueryBuilder;
}

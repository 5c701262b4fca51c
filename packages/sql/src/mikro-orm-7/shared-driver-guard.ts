/**
 * The shared ORM's driver refuses per-tenant entities on every route to SQL, by construction (MikroORM 7):
 *
 * - every driver method that names entities (entity names, entities, collections, relations, metadata)
 *   checks all of them, pivot entities included, before it runs (`CHECKED_METHODS`);
 * - every QueryBuilder the driver makes, and every clone of one, checks every entity its SQL names
 *   (root, joins, populate joins, pivots, sub-queries) before producing that SQL;
 * - every other method of the driver is listed as sending no SQL of its own, or as running SQL its
 *   caller wrote (`em.execute()`); a test walks the driver's prototype chain and fails on any method
 *   that is in none of the lists, so a method added by a MikroORM upgrade is classified before release.
 * The check and the wrapping are the same on both majors (../shared-driver-guard.ts); the lists and the
 * QueryBuilder class are this major's.
 * @module
 */
import type { EntityMetadata, EntityProperty } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/sql';
import { trackSavepointsOf } from './kysely-transactions.js';
import { firstArgument, relationEntities, sharedEntityAssertion, wrapSharedDriverMethods, type EntitiesOf } from '../shared-driver-guard.js';
import { sharedQueryBuilderClass } from './shared-query-builder.js';

const relationArgument: EntitiesOf = args => relationEntities(args[0] as EntityProperty);

/** Driver methods that reach SQL for the entities their arguments name; each checks all of them first. */
export const CHECKED_METHODS: Readonly<Record<string, EntitiesOf>> = Object.freeze({
  find: firstArgument,
  findOne: firstArgument,
  count: firstArgument,
  stream: firstArgument,
  findVirtual: firstArgument,
  countVirtual: firstArgument,
  findFromVirtual: firstArgument,
  streamFromVirtual: firstArgument,
  aggregate: firstArgument,
  nativeInsert: firstArgument,
  nativeInsertMany: firstArgument,
  nativeUpdate: firstArgument,
  nativeUpdateMany: firstArgument,
  nativeDelete: firstArgument,
  // (entityName | meta, where, overrides, options)
  nativeClone: firstArgument,
  nativeCloneSimple: firstArgument,
  nativeCloneTPT: firstArgument,
  // A QueryBuilder given as the root is checked by the new QueryBuilder, which names its entity.
  createQueryBuilder: args => (args[0] instanceof Object && 'getNativeQuery' in args[0] ? [] : [args[0]]),
  // (meta, where, options)
  createQueryBuilderFromOptions: firstArgument,
  applyUnionWhere: firstArgument,
  // (meta, expression, ...): the virtual entity whose expression is wrapped.
  wrapVirtualExpressionInSubquery: firstArgument,
  wrapVirtualExpressionInSubqueryStream: firstArgument,
  // (entity, options)
  lockPessimistic: firstArgument,
  // (prop, owners, ...): the many-to-many's target and pivot.
  loadFromPivotTable: relationArgument,
  loadFromPolymorphicPivotTable: relationArgument,
  loadPolymorphicPivotOwnerSide: relationArgument,
  loadPolymorphicPivotInverseSide: relationArgument,
  loadFromUnionTargetPolymorphicPivotTable: relationArgument,
  // (collections, options): each collection's owner, target and pivot.
  syncCollections: args => [...(args[0] as Iterable<{ owner: object; property: EntityProperty }>)]
    .flatMap(coll => [coll.owner, ...relationEntities(coll.property)]),
  // (meta, pks, collections, ...): the owner and the pivots of the collections written.
  processManyToMany: args => {
    const meta = args[0] as EntityMetadata | undefined;
    return [meta, ...Object.keys(args[2] ?? {}).flatMap(name => relationEntities(meta?.properties[name as never]))];
  },
});

/**
 * Driver methods that send no SQL of their own: they manage the connection, map rows, or compute
 * fields, joins and conditions that end up in a QueryBuilder (which checks them).
 */
export const NO_SQL_METHODS: readonly string[] = Object.freeze([
  'getPlatform', 'getMetadata', 'setMetadata', 'getDependencies', 'getConnection', 'connect', 'reconnect', 'close', 'getORMClass',
  'createEntityManager', 'createReplicas', 'resolveConnectionType', 'convertException', 'rethrow', 'validateSqlOptions',
  'getTableName', 'getSchemaName', 'getPrimaryKeyFields', 'getPivotOrderBy', 'getTableProps', 'getCloneableProps',
  'mapResult', 'mapJoinedProps', 'mapJoinedProp', 'mergeJoinedResult', 'mapDataToFieldNames', 'inlineEmbeddables', 'comparePrimaryKeyArrays',
  'mapTPTColumns', 'mapTPTChildFields', 'mapCloneOverrides', 'mapCursorOffset', 'buildPivotResultMap',
  'isPopulated', 'hasToManyJoins', 'joinedProps', 'autoJoinOneToOneOwner', 'forceBalancedStrategy', 'extractManyToMany',
  'shouldHaveColumn', 'getFieldsForJoinedLoad', 'mapPropToFieldNames', 'buildFields', 'normalizeFields', 'processField',
  'buildPopulateWhere', 'buildOrderBy', 'buildPopulateOrderBy', 'buildJoinedPropsOrderBy', 'buildToManyOrderBy', 'buildCloneFields',
  'processCursorOptions', 'createCursorCondition', 'parseCursorDirection', 'convertOwnerPksForPivotQuery', 'wrapPopulateFilter',
  'evaluateFormula', 'createFormulaTable', 'addTPTPolymorphicJoinsForRelation', 'findTPTChildAlias', 'buildTPTDiscriminatorExpression',
  // Renders a partial index's condition for DDL through a (checked) QueryBuilder; runs nothing.
  'renderPartialIndexWhere',
]);

/**
 * Driver methods that run SQL their caller wrote (`em.execute()`): the user's own, allowed. The driver's
 * own statements reach them only from checked methods.
 */
export const RAW_SQL_METHODS: readonly string[] = Object.freeze(['execute']);

/**
 * Wraps the shared ORM's driver class so that per-tenant entities can never be queried through it:
 * `ERR_NO_TENANT_CONTEXT` with no tenant active, `ERR_TENANT_ENTITY_ON_SHARED_EM` inside one. Its
 * connection also records savepoints for {@link kyselyTransactions}.
 */
export function guardSharedDriver<D extends typeof AbstractSqlDriver<any, any>>(Base: D, isTenantEntity: (entityName: string) => boolean): D {
  const assertShared = sharedEntityAssertion(isTenantEntity);
  const SharedQueryBuilder = sharedQueryBuilderClass(assertShared);

  abstract class SharedGuardDriver extends (Base as typeof AbstractSqlDriver<any, any>) {
    // The base's constructor is protected in MikroORM 7's typings; concrete drivers (the Base given) have a public one.
    constructor(...args: any[]) {
      super(...(args as [any, any, any, any]));
      trackSavepointsOf(this.connection);
    }
  }
  wrapSharedDriverMethods(SharedGuardDriver.prototype, CHECKED_METHODS, SharedQueryBuilder.prototype, assertShared);
  return SharedGuardDriver as unknown as D;
}

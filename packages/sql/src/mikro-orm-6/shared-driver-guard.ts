/**
 * The shared ORM's driver refuses per-tenant entities on every route to SQL, by construction:
 *
 * - every driver method that names entities (entity names, entities, collections, relations, metadata)
 *   checks all of them, pivot entities included, before it runs (`CHECKED_METHODS`);
 * - every QueryBuilder the driver makes, and every clone of one, checks every entity its SQL names
 *   (root, joins, populate joins, pivots, sub-queries) before producing that SQL, so joined populate,
 *   conditions and ordering on relations are covered whatever method built the query;
 * - every other method of the driver is listed as sending no SQL of its own, or as running SQL its
 *   caller wrote (`em.execute()`); a test walks the driver's prototype chain and fails on any method
 *   that is in none of the lists, so a method added by a MikroORM upgrade is classified before release.
 * The check and the wrapping are the same on both majors (../shared-driver-guard.ts); the lists and the
 * QueryBuilder class are this major's.
 * @module
 */
import type { EntityMetadata, EntityProperty } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/knex';
import { firstArgument, relationEntities, sharedEntityAssertion, wrapSharedDriverMethods, type EntitiesOf } from '../shared-driver-guard.js';
import { sharedQueryBuilderClass } from './shared-query-builder.js';

/** Driver methods that reach SQL for the entities their arguments name; each checks all of them first. */
export const CHECKED_METHODS: Readonly<Record<string, EntitiesOf>> = Object.freeze({
  find: firstArgument,
  findOne: firstArgument,
  count: firstArgument,
  findVirtual: firstArgument,
  countVirtual: firstArgument,
  findFromVirtual: firstArgument,
  aggregate: firstArgument,
  nativeInsert: firstArgument,
  nativeInsertMany: firstArgument,
  nativeUpdate: firstArgument,
  nativeUpdateMany: firstArgument,
  nativeDelete: firstArgument,
  // A QueryBuilder given as the root is checked by the new QueryBuilder, which names its entity.
  createQueryBuilder: args => (args[0] instanceof Object && 'getKnexQuery' in args[0] ? [] : [args[0]]),
  // (meta, expression, ...): the virtual entity whose expression is wrapped.
  wrapVirtualExpressionInSubquery: firstArgument,
  // (entity, options)
  lockPessimistic: firstArgument,
  // (prop, owners, ...): the many-to-many's target and pivot.
  loadFromPivotTable: args => relationEntities(args[0] as EntityProperty),
  // (collections, options): each collection's owner, target and pivot.
  syncCollections: args => [...(args[0] as Iterable<{ owner: object; property: EntityProperty }>)]
    .flatMap(coll => [coll.owner, ...relationEntities(coll.property)]),
  // (meta, pks, collections, ...): the owner and the pivots of the collections written.
  processManyToMany: args => {
    const meta = args[0] as EntityMetadata | undefined;
    return [meta, ...Object.keys(args[2] ?? {}).flatMap(name => relationEntities(meta?.properties[name]))];
  },
});

/**
 * Driver methods that send no SQL of their own: they manage the connection, map rows, or compute
 * fields, joins and conditions that end up in a QueryBuilder (which checks them).
 */
export const NO_SQL_METHODS: readonly string[] = Object.freeze([
  'getPlatform', 'getMetadata', 'setMetadata', 'getDependencies', 'getConnection', 'connect', 'reconnect', 'close',
  'createEntityManager', 'createReplicas', 'resolveConnectionType', 'convertException', 'rethrow',
  'getTableName', 'getSchemaName', 'getPrimaryKeyFields', 'getPivotOrderBy',
  'mapResult', 'mapJoinedProps', 'mergeJoinedResult', 'mapDataToFieldNames', 'inlineEmbeddables', 'comparePrimaryKeyArrays',
  'isPopulated', 'hasToManyJoins', 'joinedProps', 'autoJoinOneToOneOwner', 'forceBalancedStrategy', 'extractManyToMany',
  'shouldHaveColumn', 'getFieldsForJoinedLoad', 'mapPropToFieldNames', 'buildFields', 'normalizeFields', 'processField',
  'buildPopulateWhere', 'buildOrderBy', 'buildPopulateOrderBy', 'buildJoinedPropsOrderBy',
  'processCursorOptions', 'createCursorCondition',
]);

/**
 * Driver methods that run SQL their caller wrote (`em.execute()`): the user's own, allowed. The driver's
 * own statements reach them only from checked methods.
 */
export const RAW_SQL_METHODS: readonly string[] = Object.freeze(['execute']);

/**
 * Wraps the shared ORM's driver class so that per-tenant entities can never be queried through it:
 * `ERR_NO_TENANT_CONTEXT` with no tenant active, `ERR_TENANT_ENTITY_ON_SHARED_EM` inside one.
 */
export function guardSharedDriver<D extends typeof AbstractSqlDriver<any, any>>(Base: D, isTenantEntity: (entityName: string) => boolean): D {
  const assertShared = sharedEntityAssertion(isTenantEntity);
  const SharedQueryBuilder = sharedQueryBuilderClass(assertShared);

  abstract class SharedGuardDriver extends (Base as typeof AbstractSqlDriver<any, any>) {}
  wrapSharedDriverMethods(SharedGuardDriver.prototype, CHECKED_METHODS, SharedQueryBuilder.prototype, assertShared);
  return SharedGuardDriver as unknown as D;
}

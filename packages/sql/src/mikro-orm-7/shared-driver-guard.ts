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
 * @module
 */
import { EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/sql';
import { TenantError, currentTenantScope } from '@mikro-tenant/core';
import { trackSavepointsOf } from './kysely-transactions.js';
import { sharedQueryBuilderClass, type AssertShared } from './shared-query-builder.js';

/** Reads, from a driver method's arguments, every entity the method reaches. */
type EntitiesOf = (args: any[]) => unknown[];

const firstArgument: EntitiesOf = args => [args[0]];
const relationEntities = (prop: EntityProperty | undefined): unknown[] => [prop?.type, prop?.pivotEntity];
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

/** The name of an entity given as a name, class, schema, metadata or entity instance. */
function entityNameOf(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value;
  }
  if (value instanceof EntityMetadata) {
    return value.className;
  }
  if (typeof value === 'object' && value !== null && '__meta' in value) {
    return (value as { __meta: EntityMetadata }).__meta.className;
  }
  // Entity classes, and EntitySchema (whose `name` is the entity's).
  return (value as { name?: unknown } | undefined)?.name as string | undefined;
}

/**
 * Wraps the shared ORM's driver class so that per-tenant entities can never be queried through it:
 * `ERR_NO_TENANT_CONTEXT` with no tenant active, `ERR_TENANT_ENTITY_ON_SHARED_EM` inside one. Its
 * connection also records savepoints for {@link kyselyTransactions}.
 */
export function guardSharedDriver<D extends typeof AbstractSqlDriver<any, any>>(Base: D, isTenantEntity: (entityName: string) => boolean): D {
  const assertShared: AssertShared = entities => {
    for (const entity of entities) {
      const name = entityNameOf(entity);
      if (name !== undefined && isTenantEntity(name)) {
        throw currentTenantScope() ? TenantError.tenantEntityOnSharedEm(name) : TenantError.noTenantContext(`${name} (a per-tenant entity)`);
      }
    }
  };
  const SharedQueryBuilder = sharedQueryBuilderClass(assertShared);

  abstract class SharedGuardDriver extends (Base as typeof AbstractSqlDriver<any, any>) {
    // The base's constructor is protected in MikroORM 7's typings; concrete drivers (the Base given) have a public one.
    constructor(...args: any[]) {
      super(...(args as [any, any, any, any]));
      trackSavepointsOf(this.connection);
    }
  }
  const prototype = SharedGuardDriver.prototype as unknown as Record<string, (...args: any[]) => unknown>;
  const createQueryBuilder = prototype.createQueryBuilder!;
  define(prototype, 'createQueryBuilder', function (this: unknown, ...args: any[]) {
    return Object.setPrototypeOf(createQueryBuilder.apply(this, args), SharedQueryBuilder.prototype) as unknown;
  });
  for (const [method, entitiesOf] of Object.entries(CHECKED_METHODS)) {
    const original = prototype[method];
    if (typeof original !== 'function') {
      continue;
    }
    const kind = original.constructor.name;
    define(prototype, method, function (this: unknown, ...args: any[]) {
      try {
        assertShared(entitiesOf(args));
      } catch (error) {
        if (kind === 'AsyncFunction') {
          return Promise.reject(error);
        }
        if (kind === 'AsyncGeneratorFunction') {
          return (async function* refused() {
            throw error;
          })();
        }
        throw error;
      }
      return original.apply(this, args);
    });
  }
  return SharedGuardDriver as unknown as D;
}

function define(target: object, name: string, fn: (...args: any[]) => unknown): void {
  Object.defineProperty(fn, 'name', { value: name });
  Object.defineProperty(target, name, { value: fn, writable: true, configurable: true });
}

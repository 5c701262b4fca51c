/**
 * The part of the shared ORM's driver guard that reads the same on MikroORM 6 and 7 (it uses only
 * `@mikro-orm/core`'s API): naming the entities a driver method reaches, refusing per-tenant ones, and
 * wrapping the driver's methods. Each major's `shared-driver-guard.ts` lists its driver's methods
 * (`CHECKED_METHODS`, `NO_SQL_METHODS`, `RAW_SQL_METHODS`) and gives its QueryBuilder class.
 * @module
 */
import { EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import { TenantError, currentTenantScope } from '@mikro-tenant/core';

/** Reads, from a driver method's arguments, every entity the method reaches. */
export type EntitiesOf = (args: any[]) => unknown[];

/** Throws when one of the entity names (or entity classes, schemas, metadata) is a per-tenant entity. */
export type AssertShared = (entities: Iterable<unknown>) => void;

/** The method's first argument names its entity (a name, class, schema, metadata or entity). */
export const firstArgument: EntitiesOf = args => [args[0]];

/** The entities a relation reaches: its target and its pivot. */
export const relationEntities = (prop: EntityProperty | undefined): unknown[] => [prop?.type, prop?.pivotEntity];

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
 * The check of the shared driver: `ERR_NO_TENANT_CONTEXT` with no tenant active, `ERR_TENANT_ENTITY_ON_SHARED_EM`
 * inside one, for any per-tenant entity among those given.
 */
export function sharedEntityAssertion(isTenantEntity: (entityName: string) => boolean): AssertShared {
  return entities => {
    for (const entity of entities) {
      const name = entityNameOf(entity);
      if (name !== undefined && isTenantEntity(name)) {
        throw currentTenantScope() ? TenantError.tenantEntityOnSharedEm(name) : TenantError.noTenantContext(`${name} (a per-tenant entity)`);
      }
    }
  };
}

/**
 * Wraps the methods of a shared driver class's own prototype (a subclass of the major's driver): each of
 * `checkedMethods` checks the entities its arguments name before it runs (refusing the way the method
 * answers: a rejected promise, a failing async generator, or a throw), and `createQueryBuilder` makes
 * QueryBuilders of the checking class whose prototype is `queryBuilderPrototype`.
 */
export function wrapSharedDriverMethods(prototype: object, checkedMethods: Readonly<Record<string, EntitiesOf>>, queryBuilderPrototype: object, assertShared: AssertShared): void {
  const methods = prototype as Record<string, (...args: any[]) => unknown>;
  const createQueryBuilder = methods.createQueryBuilder!;
  define(prototype, 'createQueryBuilder', function (this: unknown, ...args: any[]) {
    return Object.setPrototypeOf(createQueryBuilder.apply(this, args), queryBuilderPrototype) as unknown;
  });
  for (const [method, entitiesOf] of Object.entries(checkedMethods)) {
    const original = methods[method];
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
}

function define(target: object, name: string, fn: (...args: any[]) => unknown): void {
  Object.defineProperty(fn, 'name', { value: name });
  Object.defineProperty(target, name, { value: fn, writable: true, configurable: true });
}

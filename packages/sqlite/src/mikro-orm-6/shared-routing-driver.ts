/**
 * The part of a tenant's driver that sends shared entities elsewhere: their writes go over the shared
 * connection (see shared-write-router.ts), their reads through ATTACH on the tenant's connection, or,
 * inside a tenant transaction that wrote shared rows, through the shared transaction holding them (so
 * the transaction reads its own writes).
 * @module
 */
import type {
  CountOptions, DeleteOptions, EntityData, EntityDictionary, FilterQuery, FindOptions, NativeInsertUpdateManyOptions,
  NativeInsertUpdateOptions, ObjectQuery, PopulatePath, QueryResult, UpsertManyOptions, UpsertOptions,
} from '@mikro-orm/core';
import { AbstractSqlDriver, type AbstractSqlConnection } from '@mikro-orm/knex';
import type { SharedDriver, SharedWriteRouter } from '../shared-write-router.js';

/** The router of a tenant's shared writes, over the shared ORM's (MikroORM 6) driver. */
type Router = SharedWriteRouter<AbstractSqlDriver & SharedDriver>;

/** A connection that may carry a router for shared writes (a tenant's, through its binding). */
type RoutingConnection = AbstractSqlConnection & { readonly binding?: { readonly sharedWrites?: SharedWriteRouter } };

/** An SQL driver whose writes of shared entities go through its connection's {@link SharedWriteRouter}, if it has one. */
export abstract class SharedRoutingDriver<C extends RoutingConnection> extends AbstractSqlDriver<C> {
  #router(entityName: string): Router | undefined {
    const router = this.connection.binding?.sharedWrites as Router | undefined;
    return router?.handles(entityName) ? router : undefined;
  }

  override find<T extends object, P extends string = never, F extends string = PopulatePath.ALL, E extends string = never>(
    entityName: string, where: ObjectQuery<T>, options: FindOptions<T, P, F, E> = {}): Promise<EntityData<T>[]> {
    const router = this.#router(entityName);
    const ctx = router?.readTransaction(options.ctx);
    return ctx ? router!.driver.find(entityName, where, { ...options, ctx }) : super.find(entityName, where, options);
  }

  override count<T extends object>(entityName: string, where: any, options: CountOptions<T> = {}): Promise<number> {
    const router = this.#router(entityName);
    const ctx = router?.readTransaction(options.ctx);
    return ctx ? router!.driver.count(entityName, where, { ...options, ctx }) : super.count(entityName, where, options);
  }

  override nativeInsert<T extends object>(entityName: string, data: EntityDictionary<T>, options: NativeInsertUpdateOptions<T> = {}): Promise<QueryResult<T>> {
    const router = this.#router(entityName);
    return router ? router.write(options.ctx, (driver, ctx) => driver.nativeInsert(entityName, data, { ...options, ctx }))
      : super.nativeInsert(entityName, data, options);
  }

  override nativeInsertMany<T extends object>(entityName: string, data: EntityDictionary<T>[], options: NativeInsertUpdateManyOptions<T> = {},
    transform?: (sql: string) => string): Promise<QueryResult<T>> {
    const router = this.#router(entityName);
    return router ? router.write(options.ctx, (driver, ctx) => driver.nativeInsertMany(entityName, data, { ...options, ctx }, transform))
      : super.nativeInsertMany(entityName, data, options, transform);
  }

  override nativeUpdate<T extends object>(entityName: string, where: FilterQuery<T>, data: EntityDictionary<T>,
    options: NativeInsertUpdateOptions<T> & UpsertOptions<T> = {}): Promise<QueryResult<T>> {
    const router = this.#router(entityName);
    return router ? router.write(options.ctx, (driver, ctx) => driver.nativeUpdate(entityName, where, data, { ...options, ctx }))
      : super.nativeUpdate(entityName, where, data, options);
  }

  override nativeUpdateMany<T extends object>(entityName: string, where: FilterQuery<T>[], data: EntityDictionary<T>[],
    options: NativeInsertUpdateManyOptions<T> & UpsertManyOptions<T> = {}): Promise<QueryResult<T>> {
    const router = this.#router(entityName);
    return router ? router.write(options.ctx, (driver, ctx) => driver.nativeUpdateMany(entityName, where, data, { ...options, ctx }))
      : super.nativeUpdateMany(entityName, where, data, options);
  }

  override nativeDelete<T extends object>(entityName: string, where: FilterQuery<T> | string | any, options: DeleteOptions<T> = {}): Promise<QueryResult<T>> {
    const router = this.#router(entityName);
    return router ? router.write(options.ctx, (driver, ctx) => driver.nativeDelete(entityName, where, { ...options, ctx }))
      : super.nativeDelete(entityName, where, options);
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { EntityManager } from '@mikro-orm/core';
import { TenantError } from './errors.js';

/** What is known about the active tenant inside a {@link runInTenantScope} call. */
export interface TenantScope<EM extends EntityManager = EntityManager> {
  /** Canonical tenant id. */
  readonly tenantId: string;
  /** The tenant's EntityManager fork for this scope (the one context-aware code resolves to). */
  readonly em: EM;
  /** The scope that was active when this one was entered, if any (lets a tenancy see every tenant the current work holds). */
  readonly outer?: TenantScope;
}

const storage = new AsyncLocalStorage<TenantScope>();

/**
 * Runs `fn` with `scope` as the active tenant. Scopes nest; the innermost wins and the outer one is
 * restored when `fn` settles. Uses `AsyncLocalStorage.run()`, never `enterWith()`, so a scope can not
 * leak into unrelated work.
 */
export function runInTenantScope<T, EM extends EntityManager>(scope: TenantScope<EM>, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The active tenant scope, or `undefined` outside any. */
export function currentTenantScope<EM extends EntityManager = EntityManager>(): TenantScope<EM> | undefined {
  return storage.getStore() as TenantScope<EM> | undefined;
}

/** The active tenant's id, or `undefined` outside any tenant scope. */
export function currentTenantId(): string | undefined {
  return storage.getStore()?.tenantId;
}

/**
 * The active tenant scope.
 *
 * @throws TenantError `ERR_NO_TENANT_CONTEXT` outside any tenant scope
 */
export function requireTenantScope<EM extends EntityManager = EntityManager>(what?: string): TenantScope<EM> {
  const scope = storage.getStore();
  if (!scope) {
    throw TenantError.noTenantContext(what);
  }
  return scope as TenantScope<EM>;
}

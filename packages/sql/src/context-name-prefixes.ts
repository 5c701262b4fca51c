/**
 * Context-name prefixes of tenant EntityManagers, unique among the tenancies alive in this process.
 * @module
 */
import { TenantError } from '@mikro-tenant/core';

/**
 * Context-name prefixes of the tenancies alive in this process, by shared configuration: one map for every
 * strategy and every copy of this module, since MikroORM's contexts are found by name across all of them (a
 * SQLite tenancy and a PostgreSQL one with the same `contextName` must not both name EntityManagers
 * `<contextName>:tenant:<id>`).
 */
const livePrefixes: Map<object, string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('mikro-tenant.livePrefixes')] ??= new Map()) as Map<object, string>;

/** A shared `contextName` must never equal a tenant EntityManager's name. @throws TenantError `ERR_INVALID_OPTION` */
export function assertSharedContextName(contextName: unknown): void {
  if (contextName !== undefined && (typeof contextName !== 'string' || /:tenant(:|$)/.test(contextName))) {
    throw TenantError.invalidOption('contextName', 'a string without ":tenant" (names "<contextName>:tenant:<id>" belong to tenant EntityManagers)');
  }
}

/**
 * Reserves the context-name prefix of a tenancy's EntityManagers, unique among the live tenancies of this
 * process: `<contextName>:tenant`, or `<contextName>#<n>:tenant` when another live tenancy has the same
 * `contextName`. `owner` is the shared ORM's configuration; free the prefix with {@link releaseContextPrefix}.
 */
export function reserveContextPrefix(owner: object, contextName: string): string {
  const taken = new Set(livePrefixes.values());
  let prefix = `${contextName}:tenant`;
  for (let n = 2; taken.has(prefix); n++) {
    prefix = `${contextName}#${n}:tenant`;
  }
  livePrefixes.set(owner, prefix);
  return prefix;
}

/** Frees the prefix reserved for `owner` (when its tenancy closes, or its start fails). */
export function releaseContextPrefix(owner: object): void {
  livePrefixes.delete(owner);
}

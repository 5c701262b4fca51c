/**
 * A cheaper `em.fork()` for tenant EntityManagers (either MikroORM major). MikroORM's fork deep-merges the
 * parent's logger context into the fork (`Utils.merge`) and sets `allowGlobalContext` on the configuration
 * twice around the new EntityManager's construction; on a tenant configuration each of those writes would
 * reach the shared configuration, whose `set()` then (on 7) re-applies the colors (an environment variable
 * write) and the debug mode: tenant configurations consult {@link forkGlobalContext} instead. Here the tenant label is copied (the same object for a flat context) and the two writes stay
 * inside the fork, invisible to anything else: forks are synchronous.
 * @module
 */
import type { ForkOptions } from '@mikro-orm/core';

/** The `allowGlobalContext` value set during the tenant fork in progress, if one is. */
let during: { value: unknown } | undefined;

/** Inside a tenant fork: the `allowGlobalContext` value it set (its tenant configuration reads and writes this instead). */
export function forkGlobalContext(): { value: unknown } | undefined {
  return during;
}

/** True when no value of `context` is an object (so a shallow copy equals MikroORM's deep merge). */
function isFlat(context: Record<string, unknown>): boolean {
  for (const key in context) {
    const value = context[key];
    if (typeof value === 'object' && value !== null) {
      return false;
    }
  }
  return true;
}

/** What {@link tenantFork} needs of a tenant EntityManager. */
interface Forkable {
  loggerContext?: Record<string, unknown>;
  readonly config: { get(key: 'allowGlobalContext'): unknown };
}

/**
 * Runs MikroORM's fork of `em` (`fork`) the cheap way when nothing needs the expensive one: `em` is a
 * tenant's own EntityManager (`resolvesContext` false: not `tenancy.em`, which forks the EntityManager it
 * resolves to) and no logger context is passed.
 */
export function tenantFork<T extends Forkable>(em: T, options: ForkOptions, fork: (options: ForkOptions) => T, resolvesContext: boolean): T {
  const own = em.loggerContext;
  if (during || resolvesContext || options.loggerContext || (own && !isFlat(own))) {
    return fork(options);
  }
  em.loggerContext = undefined;
  during = { value: em.config.get('allowGlobalContext') };
  let forked: T;
  try {
    forked = fork(options);
  } finally {
    during = undefined;
    em.loggerContext = own;
  }
  forked.loggerContext = own ? { ...own } : {};
  return forked;
}

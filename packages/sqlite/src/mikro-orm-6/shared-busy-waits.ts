import type { Options } from '@mikro-orm/core';
import { asyncBusyDialect } from './shared-knex-dialect.js';

/**
 * The shared ORM's options with its knex dialect waiting for other processes' locks with timers, up to
 * `budgetMs` per statement (see shared-knex-dialect.ts). An app that brings its own knex client
 * (`driverOptions.client`) decides how locks are waited for.
 */
export function withAsyncBusyWaits(options: Options, budgetMs: number): Options {
  const driverOptions = (options.driverOptions ?? {}) as Record<string, unknown>;
  if (driverOptions.client !== undefined) {
    return options;
  }
  return { ...options, driverOptions: { ...driverOptions, client: asyncBusyDialect(budgetMs) } };
}

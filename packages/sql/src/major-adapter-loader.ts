/**
 * Picks a strategy's adapter for the installed MikroORM major, once per process: only that major's folder
 * is loaded, so the other major's packages need not be installed.
 * @module
 */
import { Utils } from '@mikro-orm/core';
import { TenantError } from '@mikro-tenant/core';

/** The MikroORM majors mikro-tenant has adapters for. */
export const SUPPORTED_MIKRO_ORM_MAJORS: readonly number[] = Object.freeze([6, 7]);

/** Loads a strategy's adapter module from a path relative to the strategy's own file (see {@link majorAdapterLoader}). */
export type AdapterImport<A> = (relativePath: string) => A | Promise<A>;

/** The cached loader {@link majorAdapterLoader} returns. */
export interface MajorAdapterLoader<A> {
  /**
   * The adapter of the installed major, loaded on first call.
   * @throws TenantError `ERR_INVALID_OPTION` when the installed `@mikro-orm/core` is not a supported major
   */
  load(): Promise<A>;
  /** The adapter {@link load} loaded, if it has. */
  loaded(): A | undefined;
}

/**
 * The installed `@mikro-orm/core`'s major, checked against {@link SUPPORTED_MIKRO_ORM_MAJORS}.
 * @throws TenantError `ERR_INVALID_OPTION` for any other
 */
export function installedMikroOrmMajor(): number {
  const version = Utils.getORMVersion();
  const major = Number.parseInt(version, 10);
  if (!SUPPORTED_MIKRO_ORM_MAJORS.includes(major)) {
    throw TenantError.invalidOption('@mikro-orm/core', `version ${version} is installed; mikro-tenant supports MikroORM ${SUPPORTED_MIKRO_ORM_MAJORS.join(' and ')}`);
  }
  return major;
}

/**
 * A loader of `./mikro-orm-<major>/adapter.js`. `importAdapter` runs in the strategy's own module so that
 * the path resolves next to it, and so that it can load the way that module was loaded: compiled to
 * CommonJS by a loader (tsx does that for require()), an import() would load a second copy of the strategy
 * and of `@mikro-tenant/core` (two tenant scopes).
 */
export function majorAdapterLoader<A>(importAdapter: AdapterImport<A>): MajorAdapterLoader<A> {
  let adapter: A | undefined;
  const load = (): Promise<A> => {
    if (adapter) {
      return Promise.resolve(adapter);
    }
    let imported: A | Promise<A>;
    try {
      imported = importAdapter(`./mikro-orm-${installedMikroOrmMajor()}/adapter.js`);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (imported instanceof Promise) {
      return imported.then(module => adapter ??= module);
    }
    // Loaded by require(): available to loaded() at once, as CommonJS callers expect.
    adapter = imported;
    return Promise.resolve(adapter);
  };
  return Object.freeze({ load, loaded: () => adapter });
}

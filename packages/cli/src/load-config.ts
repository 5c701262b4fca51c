import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AdminTenancy, TenancyCliEntry } from '@mikro-tenant/core';
import { CliError, messageOf, oneLine } from './cli-error.js';
import { DEFAULT_STRATEGY, loadStrategyEntry } from './strategy-entry.js';

/** Config file names looked for in the working directory, in this order. */
export const CONFIG_NAMES = Object.freeze([
  'mikro-tenant.config.ts', 'mikro-tenant.config.mts', 'mikro-tenant.config.js', 'mikro-tenant.config.mjs', 'mikro-tenant.config.cjs',
]);

const TS_FILE = /\.[mc]?ts$/;
let loads = 0;

/** True for a TypeScript file name (`.ts`, `.mts`, `.cts`). */
export function isTypeScriptFile(path: string): boolean {
  return TS_FILE.test(path);
}

/**
 * Finds the config file: `--config PATH` (relative to `cwd`), else the first of {@link CONFIG_NAMES} in `cwd`.
 * @throws CliError `ERR_CONFIG_NOT_FOUND`
 */
export function findConfig(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw CliError.configNotFound(`config file ${path} does not exist`);
    }
    return path;
  }
  const found = CONFIG_NAMES.map(name => resolve(cwd, name)).find(path => existsSync(path));
  if (!found) {
    throw CliError.configNotFound(`no mikro-tenant.config.{ts,mts,js,mjs,cjs} in ${cwd}`);
  }
  return found;
}

/** A config file as the CLI uses it: its strategy's entry and the options for that strategy's tenancy. */
export interface LoadedConfig {
  /** The config file. */
  path: string;
  /** The config's `strategy` (`sqlite` when it names none). */
  strategy: string;
  /** The strategy package's entry for this CLI. */
  entry: TenancyCliEntry;
  /** The options of the strategy's `init` (the config without `strategy`). */
  options: object;
}

/**
 * Imports a config file whose default export is the options of a tenancy's `init` (with `strategy`
 * naming the strategy: `sqlite`, the default, or `pg-schema`), or a function or promise returning them,
 * and loads that strategy's package. TypeScript configs need a TypeScript loader (tsx) to be active.
 *
 * @throws CliError `ERR_CONFIG_NEEDS_TSX`, `ERR_CONFIG_UNREADABLE`
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let module: { default?: unknown };
  const url = pathToFileURL(path);
  // A fresh evaluation per load: runCli() called twice in one process sees an edited config.
  url.searchParams.set('mikro-tenant', String(++loads));
  try {
    module = await import(url.href) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && (TS_FILE.test(path) || /\.[mc]?ts"/.test(messageOf(error)))) {
      throw CliError.configNeedsTsx(path, error);
    }
    throw CliError.configUnreadable(path, oneLine(messageOf(error)), error);
  }
  let config = module.default;
  // A TypeScript config compiled to CommonJS arrives as { default: { default: config } }.
  if (config && typeof config === 'object' && !('tenancy' in config) && 'default' in config) {
    config = (config as { default: unknown }).default;
  }
  try {
    config = await (typeof config === 'function' ? (config as () => unknown)() : config);
  } catch (error) {
    throw CliError.configUnreadable(path, `its default export threw: ${oneLine(messageOf(error))}`, error);
  }
  if (!config || typeof config !== 'object' || !('tenancy' in config)) {
    throw CliError.configUnreadable(path, 'export default the options of the tenancy\'s init ({ dbName, entities, tenancy: { dir, entities } } for SQLite; '
      + '{ strategy: \'pg-schema\', clientUrl, entities, tenancy: { entities } } for PostgreSQL)');
  }
  const { strategy, ...options } = config as { strategy?: unknown };
  const entry = await loadStrategyEntry(strategy, path);
  return { path, strategy: typeof strategy === 'string' ? strategy : DEFAULT_STRATEGY, entry, options };
}

/**
 * Registers tsx's ESM loader in this thread (loader hooks of the main thread do not reach worker
 * threads on Node 20). Resolves false when tsx is not installed.
 */
export async function registerTsx(): Promise<boolean> {
  try {
    const specifier = 'tsx/esm/api';
    const tsx = await import(specifier) as { register(): unknown };
    tsx.register();
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads the config and starts a tenancy from it, as the CLI uses it: `autoCreate` off (no command creates
 * a tenant unless asked to), no query logging; the strategy checks what it can before opening anything.
 *
 * @throws CliError `ERR_CONFIG_*`; TenantError `ERR_INVALID_OPTION`, `ERR_TENANT_FOLDER_UNUSABLE`
 */
export async function openTenancy(configPath: string): Promise<AdminTenancy> {
  return startTenancy(await loadConfig(configPath));
}

/**
 * Starts a tenancy from a loaded config as {@link openTenancy} does.
 * @throws TenantError `ERR_INVALID_OPTION`, `ERR_TENANT_FOLDER_UNUSABLE`
 */
export function startTenancy(config: LoadedConfig): Promise<AdminTenancy> {
  return config.entry.open(config.options);
}

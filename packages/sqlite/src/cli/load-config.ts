import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteTenancy } from '../sqlite-tenancy.js';
import type { SqliteTenancyConfig } from '../options.js';
import { CliError } from './io.js';

/** Config file names looked for in the working directory, in order. */
export const CONFIG_NAMES = ['mikro-tenant.config.ts', 'mikro-tenant.config.mts', 'mikro-tenant.config.js', 'mikro-tenant.config.mjs', 'mikro-tenant.config.cjs'];

/** Finds the config file: `--config PATH`, else the first of {@link CONFIG_NAMES} in `cwd`. */
export function findConfig(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) {
      throw new CliError('ERR_CONFIG_NOT_FOUND', `config file ${path} does not exist`);
    }
    return path;
  }
  const found = CONFIG_NAMES.map(name => resolve(cwd, name)).find(path => existsSync(path));
  if (!found) {
    throw new CliError('ERR_CONFIG_NOT_FOUND', `no ${CONFIG_NAMES.slice(0, 3).join(', ')}... in ${cwd}; pass --config PATH`);
  }
  return found;
}

/** Loads the options the app passes to `SqliteTenancy.init` from a config file (default export: object, function or promise). */
export async function loadConfig(path: string): Promise<SqliteTenancyConfig> {
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(path).href) as { default?: unknown };
  } catch (error) {
    if (/\.[mc]?ts$/.test(path) && /Unknown file extension|ERR_UNKNOWN_FILE_EXTENSION/.test(String((error as Error).message ?? error))) {
      throw new CliError('ERR_CONFIG_UNREADABLE', `cannot load ${path}: TypeScript configs need tsx (run with NODE_OPTIONS="--import tsx")`);
    }
    throw new CliError('ERR_CONFIG_UNREADABLE', `cannot load ${path}: ${(error as Error).message}`);
  }
  let config = module.default;
  // A TypeScript config compiled as CommonJS arrives as { default: { default: config } }.
  if (config && typeof config === 'object' && !('tenancy' in config) && 'default' in config) {
    config = (config as { default: unknown }).default;
  }
  if (typeof config === 'function') {
    config = await (config as () => unknown)();
  }
  config = await config;
  if (!config || typeof config !== 'object' || !('tenancy' in config)) {
    throw new CliError('ERR_CONFIG_UNREADABLE', `${path} must export default the options of SqliteTenancy.init ({ ..., tenancy: { dir, entities } })`);
  }
  return config as SqliteTenancyConfig;
}

/** Loads the config and starts a tenancy from it. */
export async function openTenancy(configPath: string): Promise<SqliteTenancy> {
  const config = await loadConfig(configPath);
  return SqliteTenancy.init({ ...config, debug: false });
}

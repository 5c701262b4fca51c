import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { closestName, type TenancyCliEntry } from '@mikro-tenant/core';
import { CliError, messageOf, oneLine } from './cli-error.js';

/**
 * Strategy names a config may give as `strategy`, and the packages that implement them. Any other value
 * that looks like a package name (`@scope/name`) is loaded as it is: a strategy of one's own.
 */
export const STRATEGY_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  'sqlite': '@mikro-tenant/sqlite',
  'pg-schema': '@mikro-tenant/postgresql',
  'postgresql': '@mikro-tenant/postgresql',
  'sqlite-row': '@mikro-tenant/row',
  'pg-row': '@mikro-tenant/row',
});

/** The strategy of a config without `strategy`: one SQLite file per tenant, as before strategies had names. */
export const DEFAULT_STRATEGY = 'sqlite';

/**
 * Loads the `tenancyCli` export of the package implementing the config's strategy, resolved first from the
 * config file's folder (the app's dependencies), then from the CLI's own. The CLI never imports a strategy
 * otherwise.
 * @throws CliError `ERR_CONFIG_UNREADABLE` for an unknown strategy, a package that is not installed or exports no `tenancyCli`
 */
export async function loadStrategyEntry(strategy: unknown, configPath: string): Promise<TenancyCliEntry> {
  const name = strategy ?? DEFAULT_STRATEGY;
  const specifier = typeof name === 'string' ? STRATEGY_PACKAGES[name] ?? (/^@[a-z0-9][\w.-]*\/[\w.-]+$/.test(name) ? name : undefined) : undefined;
  if (!specifier) {
    const near = typeof name === 'string' ? closestName(name, Object.keys(STRATEGY_PACKAGES)) : undefined;
    throw CliError.configUnreadable(configPath, `strategy must be one of ${Object.keys(STRATEGY_PACKAGES).map(s => `"${s}"`).join(', ')} `
      + `(or a strategy package's name), not ${JSON.stringify(name)}${near ? `; did you mean "${near}"?` : ''}`);
  }
  let module: { tenancyCli?: TenancyCliEntry };
  try {
    module = await importFrom(specifier, configPath) as { tenancyCli?: TenancyCliEntry };
  } catch (error) {
    throw CliError.configUnreadable(configPath, `its strategy "${String(name)}" needs ${specifier}, which cannot be loaded `
      + `(${oneLine(messageOf(error))}); install it next to the app: npm install ${specifier}`, error);
  }
  if (typeof module.tenancyCli?.open !== 'function') {
    throw CliError.configUnreadable(configPath, `${specifier} exports no tenancyCli: it is not a mikro-tenant strategy for this CLI version`);
  }
  return module.tenancyCli;
}

async function importFrom(specifier: string, configPath: string): Promise<unknown> {
  let resolved: string | undefined;
  try {
    resolved = createRequire(configPath).resolve(specifier);
  } catch {
    // Not among the app's dependencies: the CLI's own (a global install, a monorepo) may have it.
  }
  return import(resolved ? pathToFileURL(resolved).href : specifier);
}

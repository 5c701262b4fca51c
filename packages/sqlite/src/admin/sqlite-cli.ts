import { accessSync, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { TenantError, type AdminTenancy, type TenancyCliEntry } from '@mikro-tenant/core';
import { resolveTenancyOptions, type SqliteTenancyConfig } from '../options.js';
import { sqliteDatabaseFile } from '@mikro-tenant/sql';
import { SqliteTenancy } from '../sqlite-tenancy.js';

/**
 * The SQLite strategy's entry for the `mikro-tenant` CLI (a config without `strategy`, or with
 * `strategy: 'sqlite'`): its default export is the options of `SqliteTenancy.init`.
 */
export const sqliteTenancyCli: TenancyCliEntry = {
  missingSharedStorage(config) {
    const { dbName, baseDir } = config as SqliteTenancyConfig;
    const shared = sqliteDatabaseFile(dbName, baseDir);
    return shared && !existsSync(shared) ? `no shared database at ${shared} yet` : undefined;
  },

  async open(config) {
    const sqlite = config as SqliteTenancyConfig;
    const options = resolveTenancyOptions(sqlite.tenancy, sqlite.baseDir);
    checkFolder(options.dir);
    return await SqliteTenancy.init({ ...sqlite, debug: false, tenancy: { ...sqlite.tenancy, autoCreate: false } }) as unknown as AdminTenancy;
  },
};

/** A tenant folder that exists must be a folder this process can list and write to. */
function checkFolder(dir: string): void {
  if (!existsSync(dir)) {
    return;
  }
  if (!statSync(dir).isDirectory()) {
    throw TenantError.folderUnusable(dir, 'is not a folder');
  }
  try {
    accessSync(dir, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
  } catch (error) {
    throw TenantError.folderUnusable(dir, `cannot be listed and written by this user (${(error as NodeJS.ErrnoException).code})`, error);
  }
}

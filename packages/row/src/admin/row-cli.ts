import { existsSync } from 'node:fs';
import type { AdminTenancy, TenancyCliEntry } from '@mikro-tenant/core';
import { sqliteDatabaseFile } from '@mikro-tenant/sql';
import type { RowTenancyConfig } from '../options.js';
import { RowTenancy } from '../row-tenancy.js';

/**
 * The row strategy's entry for the `mikro-tenant` CLI: a config with `strategy: 'sqlite-row'` or
 * `'pg-row'` whose other options are those of `RowTenancy.init` (the database is the config's `driver`).
 */
export const rowTenancyCli: TenancyCliEntry = {
  missingSharedStorage(config, strategy) {
    if (strategy !== 'sqlite-row') {
      return undefined;
    }
    const { dbName, baseDir } = config as RowTenancyConfig;
    const file = sqliteDatabaseFile(dbName, baseDir);
    return file && !existsSync(file) ? `no database at ${file} yet` : undefined;
  },

  async open(config) {
    const options = config as RowTenancyConfig;
    return await RowTenancy.init({ ...options, debug: false, tenancy: { ...options.tenancy, autoCreate: false } }) as unknown as AdminTenancy;
  },
};

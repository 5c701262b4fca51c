import type { AdminTenancy, TenancyCliEntry } from '@mikro-tenant/core';
import type { PostgresTenancyConfig } from '../options.js';
import { PostgresSchemaTenancy } from '../postgres-schema-tenancy.js';

/**
 * The schema strategy's entry for the `mikro-tenant` CLI: a config with `strategy: 'pg-schema'` whose
 * other options are those of `PostgresSchemaTenancy.init`.
 */
export const postgresTenancyCli: TenancyCliEntry = {
  async open(config) {
    const options = config as PostgresTenancyConfig;
    return await PostgresSchemaTenancy.init({ ...options, debug: false, tenancy: { ...options.tenancy, autoCreate: false } }) as unknown as AdminTenancy;
  },
};

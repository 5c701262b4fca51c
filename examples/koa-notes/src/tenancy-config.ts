import { join, resolve } from 'node:path';
import type { SqliteTenancyConfig } from '@mikro-tenant/sqlite';
import { Note, Session, User } from './entities.js';

/** The options of the app's tenancy: shared by the app and `mikro-tenant.config.ts` (the CLI). */
export function tenancyConfig(dataDir: string, maxOpen = 100): SqliteTenancyConfig {
  const dir = resolve(dataDir);
  return {
    dbName: join(dir, 'shared.sqlite3'),
    entities: [User, Session],
    allowGlobalContext: false,
    tenancy: {
      dir: join(dir, 'tenants'),
      entities: [Note],
      tenantEntity: User,
      deleteOnTenantDelete: true,
      maxOpen,
    },
  };
}

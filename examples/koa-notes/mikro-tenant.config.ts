// Read by the mikro-tenant CLI (`npm run tenants -- <command>`): the same options as the app, on the same
// strategy (STRATEGY). On PostgreSQL the CLI starts no server: DATABASE_URL names the one the app serves from
// (the app's embedded server: postgresql://postgres:postgres@127.0.0.1:54321/koa_notes while it runs).
// The row strategies keep every tenant in the shared tables: `migrate` has nothing to do per tenant (the app
// updates the shared schema at start) and backup/restore/template are refused (back up the whole database).
import { postgresRowTenancyConfig, postgresTenancyConfig, sqliteRowTenancyConfig, tenancyConfig } from './src/tenancy-config.js';

const strategy = process.env.STRATEGY || 'sqlite';
if (!['sqlite', 'pg-schema', 'sqlite-row', 'pg-row'].includes(strategy)) {
  throw new Error(`STRATEGY must be one of "sqlite", "pg-schema", "sqlite-row", "pg-row", not "${strategy}"`);
}
const dataDir = process.env.DATA_DIR ?? './.data';
if ((strategy === 'pg-schema' || strategy === 'pg-row') && !process.env.DATABASE_URL) {
  throw new Error(`STRATEGY=${strategy}: set DATABASE_URL to the database the app serves from`);
}

export default strategy === 'pg-schema' ? { strategy, ...postgresTenancyConfig(process.env.DATABASE_URL!) }
  : strategy === 'pg-row' ? { strategy, ...postgresRowTenancyConfig(process.env.DATABASE_URL!) }
  : strategy === 'sqlite-row' ? { strategy, ...sqliteRowTenancyConfig(dataDir) }
  : tenancyConfig(dataDir);

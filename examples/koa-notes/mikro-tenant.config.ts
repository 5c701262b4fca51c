// Read by the mikro-tenant CLI (`npm run tenants -- <command>`): the same options as the app, on the same
// strategy (STRATEGY). On PostgreSQL the CLI starts no server: DATABASE_URL names the one the app serves from
// (the app's embedded server: postgresql://postgres:postgres@127.0.0.1:54321/koa_notes while it runs).
import { postgresTenancyConfig, tenancyConfig } from './src/tenancy-config.js';

const strategy = process.env.STRATEGY || 'sqlite';
if (strategy !== 'sqlite' && strategy !== 'pg-schema') {
  throw new Error(`the CLI manages a SQLite file or a PostgreSQL schema per tenant; STRATEGY=${strategy} keeps tenants in shared tables`);
}
if (strategy === 'pg-schema' && !process.env.DATABASE_URL) {
  throw new Error('STRATEGY=pg-schema: set DATABASE_URL to the database the app serves from');
}

export default strategy === 'pg-schema'
  ? { strategy: 'pg-schema', ...postgresTenancyConfig(process.env.DATABASE_URL!) }
  : tenancyConfig(process.env.DATA_DIR ?? './.data');

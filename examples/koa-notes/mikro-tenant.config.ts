// Read by the mikro-tenant CLI (`npm run tenants -- <command>`): the same options as the app.
import { tenancyConfig } from './src/tenancy-config.js';

export default tenancyConfig(process.env.DATA_DIR ?? './.data');

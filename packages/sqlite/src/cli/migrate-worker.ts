/** Worker thread of `mikro-tenant migrate`: migrates the tenants the main thread hands it, one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { openTenancy } from './load-config.js';
import type { TenantMigrationOutcome } from './migrate.js';

const { configPath } = workerData as { configPath: string };
const port = parentPort!;
if (/\.[mc]?ts$/.test(configPath)) {
  // Loader hooks registered with --import in the main thread do not reach worker threads: register tsx here.
  try {
    const specifier = 'tsx/esm/api';
    const tsx = await import(specifier) as { register(): unknown };
    tsx.register();
  } catch {
    // loadConfig reports the TypeScript config it cannot read
  }
}
const tenancy = await openTenancy(configPath);

port.on('message', async (message: { tenantId?: string; stop?: true }) => {
  if (message.stop) {
    await tenancy.close();
    port.close();
    return;
  }
  const tenantId = message.tenantId!;
  let outcome: TenantMigrationOutcome;
  try {
    const { executed } = await tenancy.migrateTenant(tenantId);
    outcome = { tenantId, status: executed.length ? 'migrated' : 'up-to-date', executed };
  } catch (error) {
    outcome = { tenantId, status: 'failed', executed: [], error: (error as Error).message };
  }
  port.postMessage(outcome);
});
port.postMessage({ ready: true });

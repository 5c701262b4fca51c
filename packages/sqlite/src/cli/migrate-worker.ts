/**
 * Worker thread of `mikro-tenant migrate`: loads the config, starts its own tenancy (better-sqlite3 is
 * synchronous, so parallel migrations need threads) and migrates the tenants the main thread hands it,
 * one at a time, answering each with a {@link TenantMigrationOutcome}.
 *
 * Protocol. In: `{ tenantId }` or `{ stop: true }`. Out: `{ ready: true }`, then one outcome per tenant;
 * or `{ startupError, code }` when the tenancy cannot start (the thread then ends).
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteTenancy } from '../sqlite-tenancy.js';
import { messageOf, oneLine } from './cli-error.js';
import { isTypeScriptFile, openTenancy, registerTsx } from './load-config.js';
import { migrateOneTenant, type TenantMigrationOutcome } from './migrate-tenant.js';

const { configPath } = workerData as { configPath: string };
const port = parentPort!;

async function start(): Promise<SqliteTenancy> {
  if (isTypeScriptFile(configPath)) {
    // The main thread loaded this TypeScript config, so tsx is installed; the loader hooks it registered
    // (--import tsx) do not reach worker threads on Node 20, so register them here, before the import.
    await registerTsx();
  }
  return openTenancy(configPath);
}

try {
  const tenancy = await start();
  port.on('message', async (message: { tenantId?: string; stop?: true }) => {
    if (message.stop) {
      await tenancy.close().catch(() => undefined);
      port.close();
      return;
    }
    const outcome: TenantMigrationOutcome = await migrateOneTenant(tenancy, message.tenantId!);
    port.postMessage(outcome);
  });
  port.postMessage({ ready: true });
} catch (error) {
  const code = (error as { code?: unknown }).code;
  port.postMessage({ startupError: oneLine(messageOf(error)), code: typeof code === 'string' ? code : undefined });
  port.close();
  process.exitCode = 1;
}

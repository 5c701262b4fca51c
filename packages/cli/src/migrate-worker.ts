/**
 * Worker process of `mikro-tenant migrate`: loads the config (its path is the first argument), starts
 * its own tenancy (a synchronous driver such as better-sqlite3 needs other processes to migrate in parallel) and
 * migrates the tenants the parent hands it, one at a time, answering each with a {@link TenantMigrationOutcome}.
 *
 * Protocol (IPC). In: `{ tenantId }` (a few may be waiting) or `{ stop: true }` (sent when none is).
 * Out: `{ ready: true }`, then one outcome per tenant, in order; or `{ startupError, code }` when the
 * tenancy cannot start (the process then ends). It ends too when the parent goes away.
 * @module
 */
import type { AdminTenancy } from '@mikro-tenant/core';
import { messageOf, oneLine } from './cli-error.js';
import { isTypeScriptFile, openTenancy, registerTsx } from './load-config.js';
import { migrateOneTenant, type TenantMigrationOutcome } from './migrate-tenant.js';

const configPath = process.argv[2]!;
const send = (message: object) => new Promise<void>(resolve => process.send!(message, () => resolve()));

async function start(): Promise<AdminTenancy> {
  if (isTypeScriptFile(configPath)) {
    // The parent loaded this TypeScript config, so tsx is installed; register it here unless the
    // parent's Node options (--import tsx) already did.
    await registerTsx();
  }
  return openTenancy(configPath);
}

process.on('disconnect', () => process.exit(process.exitCode ?? 0));

try {
  const tenancy = await start();
  // Tenants may arrive while one is being migrated: they wait here and are migrated one at a time, in order.
  const waiting: string[] = [];
  let migrating = false;
  const migrateWaiting = async () => {
    migrating = true;
    while (waiting.length) {
      const outcome: TenantMigrationOutcome = await migrateOneTenant(tenancy, waiting.shift()!);
      await send(outcome);
    }
    migrating = false;
  };
  process.on('message', async (message: { tenantId?: string; stop?: true }) => {
    if (message.stop) {
      await tenancy.close().catch(() => undefined);
      process.disconnect();
      return;
    }
    waiting.push(message.tenantId!);
    if (!migrating) {
      await migrateWaiting();
    }
  });
  await send({ ready: true });
} catch (error) {
  const code = (error as { code?: unknown }).code;
  process.exitCode = 1;
  await send({ startupError: oneLine(messageOf(error)), code: typeof code === 'string' ? code : undefined });
  process.disconnect();
}

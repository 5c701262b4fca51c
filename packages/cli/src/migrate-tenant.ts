import type { AdminTenancy } from '@mikro-tenant/core';
import { messageOf, oneLine } from './cli-error.js';

/** What happened to one tenant in a `migrate` run (sent by worker processes as it is). */
export interface TenantMigrationOutcome {
  /** Canonical tenant id. */
  tenantId: string;
  /** `failed` means the tenant's transaction was rolled back (or never committed). */
  status: 'migrated' | 'up-to-date' | 'failed';
  /** Migrations applied now (`['schema']` for a schema generated from entities). */
  executed: string[];
  /** Schema version the tenant has now (absent when it failed). */
  version?: string | null;
  /** Why it failed, on one line. */
  error?: string;
  /** Code of the failure, e.g. `ERR_TENANT_MIGRATION_FAILED`. */
  code?: string;
  /** How long the tenant took. */
  durationMs?: number;
}

/**
 * Applies pending migrations to one tenant in one transaction and describes the outcome; never throws.
 * Unlike `tenancy.migrateTenant()` it leaves the registry alone (`admin().migrate()`): parallel workers
 * writing the shared database would queue on its write lock, so the main process records the versions in batches.
 */
export async function migrateOneTenant(tenancy: AdminTenancy, tenantId: string): Promise<TenantMigrationOutcome> {
  const started = performance.now();
  const outcome = await migrateOnce(tenancy, tenantId);
  return { ...outcome, durationMs: performance.now() - started };
}

async function migrateOnce(tenancy: AdminTenancy, tenantId: string): Promise<TenantMigrationOutcome> {
  try {
    const { executed, version } = await tenancy.admin().migrate(tenantId);
    return { tenantId, status: executed.length ? 'migrated' : 'up-to-date', executed, version };
  } catch (error) {
    return failedOutcome(tenantId, error);
  }
}

/** The outcome of a tenant that failed with `error`. */
export function failedOutcome(tenantId: string, error: unknown, code?: string): TenantMigrationOutcome {
  const own = (error as { code?: unknown } | undefined)?.code;
  return {
    tenantId, status: 'failed', executed: [], error: oneLine(messageOf(error)),
    code: code ?? (typeof own === 'string' ? own : 'ERR_UNEXPECTED'),
  };
}

/**
 * Records tenants' schema versions in the registry, many per transaction of the shared database (one
 * commit instead of one per tenant, one statement per version). `add` queues; `flush` writes what is
 * queued and waits.
 */
export class SchemaVersionRecorder {
  readonly #tenancy: AdminTenancy;
  readonly #batchSize: number;
  #queued = new Map<string, string | null>();
  #writing: Promise<void> = Promise.resolve();

  /** @param batchSize versions per transaction @default 250 */
  constructor(tenancy: AdminTenancy, batchSize = 250) {
    this.#tenancy = tenancy;
    this.#batchSize = batchSize;
  }

  /** Queues one tenant's version; writes a batch once enough are queued. */
  add(tenantId: string, version: string | null): void {
    this.#queued.set(tenantId, version);
    if (this.#queued.size >= this.#batchSize) {
      void this.flush().catch(() => undefined);
    }
  }

  /** Writes everything queued; rejects when a batch could not be written. */
  flush(): Promise<void> {
    const batch = this.#queued;
    this.#queued = new Map();
    this.#writing = this.#writing.then(() => batch.size ? this.#write(batch) : undefined);
    return this.#writing;
  }

  async #write(batch: Map<string, string | null>): Promise<void> {
    // Tenants of one version in one statement (a run mostly brings every tenant to one version).
    const byVersion = new Map<string | null, string[]>();
    for (const [tenantId, version] of batch) {
      const ids = byVersion.get(version);
      if (ids) {
        ids.push(tenantId);
      } else {
        byVersion.set(version, [tenantId]);
      }
    }
    await this.#tenancy.admin().recordSchemaVersions(byVersion);
  }
}

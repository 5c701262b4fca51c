import { TenantError, isTenantError, type TenantCreationMethod, type TenantRecord } from '@mikro-tenant/core';
import { quoteIdentifier } from './identifiers.js';
import type { SchemaTenantRegistry } from './schema-registry.js';
import type { TenantSchemaSource } from './tenant-schema.js';
import type { TenantSchemas } from './tenant-schemas.js';

/** Outcome of provisioning one tenant. */
export interface ProvisionResult {
  /** This call created the tenant's schema. */
  created: boolean;
  /** The tenant's registry row (written with the schema). */
  record: TenantRecord;
  /** How the schema was made: always one SQL script (recorded once from the migrations or the entities). */
  how?: TenantCreationMethod;
}

/** What a {@link SchemaProvisioner} works with. */
export interface SchemaProvisionerInit {
  schemas: TenantSchemas;
  registry: SchemaTenantRegistry;
  source: TenantSchemaSource;
  /** `search_path` of a tenant's statements. */
  searchPath: (schema: string) => string;
  /** Runs SQL on the shared pool, outside any transaction of the caller (several statements: one implicit transaction). */
  execute: (sql: string) => Promise<unknown>;
  /** True when the schema exists. */
  schemaExists: (schema: string) => Promise<boolean>;
}

/** SQLSTATEs of a `CREATE SCHEMA` that lost to another: the name exists (42P06), or a concurrent creator committed it first (23505). */
const SCHEMA_TAKEN = new Set(['42P06', '23505']);

/**
 * Creates tenant schemas: `CREATE SCHEMA`, the tables (the source's template), the migrations recorded as
 * run and the registry row, sent as one multi-statement query, which PostgreSQL runs as one transaction.
 * A crash or an error leaves nothing; two creators of one tenant (in this process or in others) create it
 * once: the second `CREATE SCHEMA` waits for the first transaction and fails when it commits.
 */
export class SchemaProvisioner {
  readonly #init: SchemaProvisionerInit;
  readonly #pending = new Map<string, Promise<ProvisionResult>>();
  #provisioned = 0;
  #races = 0;

  constructor(init: SchemaProvisionerInit) {
    this.#init = init;
  }

  /** Tenant schemas this process created. */
  get provisioned(): number {
    return this.#provisioned;
  }

  /** Provisionings of this process that another process beat to the tenant's schema. */
  get races(): number {
    return this.#races;
  }

  /** The provisioning of `tenantId` under way in this process, if any. */
  pending(tenantId: string): Promise<ProvisionResult> | undefined {
    return this.#pending.get(tenantId);
  }

  /** Resolves when every provisioning under way has settled. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#pending.values()]);
  }

  /**
   * Creates the tenant's schema unless it exists, once per tenant at a time in this process. `created` is
   * true if this call created it (for `explicit` callers, a concurrent call's creation counts as "it existed").
   * @throws TenantError `ERR_TENANT_PROVISIONING_FAILED` (nothing is left behind)
   */
  provision(tenantId: string, explicit: boolean): Promise<ProvisionResult> {
    let pending = this.#pending.get(tenantId);
    if (!pending) {
      pending = this.#provisionOnce(tenantId).finally(() => this.#pending.delete(tenantId));
      this.#pending.set(tenantId, pending);
      return pending;
    }
    return explicit ? pending.then(result => ({ ...result, created: false })) : pending;
  }

  async #provisionOnce(tenantId: string): Promise<ProvisionResult> {
    const { schemas, registry, source, searchPath, execute, schemaExists } = this.#init;
    const schema = schemas.schemaOf(tenantId);
    const existing = async () => ({ created: false, record: await registry.get(tenantId) ?? { tenantId, location: schema, createdAt: new Date(), schemaVersion: null } });
    try {
      if (await schemaExists(schema)) {
        return await existing();
      }
      const template = await source.template();
      const record: TenantRecord = { tenantId, location: schema, createdAt: new Date(), schemaVersion: template.version };
      try {
        await execute([
          `create schema ${quoteIdentifier(schema)}`,
          `set local search_path to ${searchPath(schema)}`,
          template.build(schema),
          registry.upsertSql(record),
        ].join(';\n'));
      } catch (error) {
        if (SCHEMA_TAKEN.has((error as { code?: string }).code ?? '') && await schemaExists(schema)) {
          this.#races++;
          return await existing();
        }
        throw error;
      }
      this.#provisioned++;
      return { created: true, record, how: 'script' };
    } catch (error) {
      // One code for every way provisioning fails (a migration error, say), the reason kept as `cause`.
      throw isTenantError(error, 'ERR_TENANT_PROVISIONING_FAILED') ? error : TenantError.provisioningFailed(tenantId, error);
    }
  }
}

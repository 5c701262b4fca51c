import { OncePerTenantProvisioning, type ProvisionOutcome, type TenantRecord } from '@mikro-tenant/core';
import { quoteIdentifier } from './identifiers.js';
import type { SchemaTenantRegistry } from './schema-registry.js';
import type { TenantSchemaSource } from './tenant-schema.js';
import type { TenantSchemas } from './tenant-schemas.js';

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
export class SchemaProvisioner extends OncePerTenantProvisioning {
  readonly #init: SchemaProvisionerInit;

  constructor(init: SchemaProvisionerInit) {
    super();
    this.#init = init;
  }

  protected async attempt(tenantId: string): Promise<ProvisionOutcome> {
    const { schemas, registry, source, searchPath, execute, schemaExists } = this.#init;
    const schema = schemas.schemaOf(tenantId);
    const existing = async () => ({ created: false, record: await registry.get(tenantId) ?? { tenantId, location: schema, createdAt: new Date(), schemaVersion: null } });
    if (await schemaExists(schema)) {
      return existing();
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
        return { ...await existing(), lostRace: true };
      }
      throw error;
    }
    return { created: true, record, how: 'script' };
  }
}

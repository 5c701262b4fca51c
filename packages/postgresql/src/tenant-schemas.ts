import { TenantError, isValidTenantId } from '@mikro-tenant/core';

/** The default `schemaPattern`: `tenant_acme` for the tenant `acme`. */
export const DEFAULT_SCHEMA_PATTERN = 'tenant_{id}';

/** PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`); longer names are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Schema names no pattern may produce, besides the shared schemas: they belong to PostgreSQL. */
const SYSTEM_SCHEMAS = ['public', 'information_schema'];

const LITERAL = /^[a-z0-9_]*$/;

/** A pattern split around its `{id}`. */
export interface SchemaPatternParts {
  readonly prefix: string;
  readonly suffix: string;
}

/**
 * Checks a `schemaPattern` and splits it around `{id}`: `{id}` exactly once, the rest lower-case letters,
 * digits and '_' (so a name never depends on quoting or case folding), not every name a `pg_` one, and
 * room for at least one character of id within PostgreSQL's 63 bytes.
 * @throws TenantError `ERR_INVALID_OPTION` naming `tenancy.schemaPattern`
 */
export function splitSchemaPattern(pattern: unknown): SchemaPatternParts {
  const fail = (reason: string) => TenantError.invalidOption('tenancy.schemaPattern', reason);
  if (typeof pattern !== 'string') {
    throw fail('expected a string with {id}, such as "tenant_{id}"');
  }
  const parts = pattern.split('{id}');
  if (parts.length !== 2) {
    throw fail(`"${pattern}" must contain {id} exactly once`);
  }
  const [prefix, suffix] = parts as [string, string];
  if (!LITERAL.test(prefix) || !LITERAL.test(suffix)) {
    throw fail(`"${pattern}": around {id} use only a-z, 0-9 and '_'`);
  }
  if (prefix.startsWith('pg_')) {
    throw fail(`"${pattern}": schema names starting with "pg_" are reserved by PostgreSQL`);
  }
  if (prefix.length + suffix.length >= MAX_IDENTIFIER_BYTES) {
    throw fail(`"${pattern}" leaves no room for the id within PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte identifiers`);
  }
  return { prefix, suffix };
}

/**
 * Maps canonical tenant ids to schema names with a pattern, one to one: the pattern's fixed parts around
 * the id make the mapping injective, ids that would not fit PostgreSQL's 63 bytes are refused (never
 * truncated: the server would truncate two long ids to one name), and names PostgreSQL or the shared
 * side own (`public`, `information_schema`, `pg_*`, the shared schemas) are never produced.
 */
export class TenantSchemas {
  readonly #prefix: string;
  readonly #suffix: string;
  readonly #reserved: ReadonlySet<string>;
  /** Longest id this pattern can hold, in characters (canonical ids are ASCII: one byte each). */
  readonly maxIdLength: number;

  /**
   * @param pattern the `schemaPattern` option
   * @param sharedSchemas schemas of the shared side (the shared schema, and any schema a shared entity names)
   * @throws TenantError `ERR_INVALID_OPTION` for a pattern {@link splitSchemaPattern} refuses
   */
  constructor(readonly pattern: string, sharedSchemas: Iterable<string>) {
    const { prefix, suffix } = splitSchemaPattern(pattern);
    this.#prefix = prefix;
    this.#suffix = suffix;
    this.#reserved = new Set([...SYSTEM_SCHEMAS, ...sharedSchemas]);
    this.maxIdLength = MAX_IDENTIFIER_BYTES - prefix.length - suffix.length;
  }

  /**
   * The schema of a canonical tenant id.
   * @throws TenantError `ERR_INVALID_TENANT_ID` when the id does not fit the pattern within 63 bytes, or names a reserved schema
   */
  schemaOf(tenantId: string): string {
    if (tenantId.length > this.maxIdLength) {
      throw TenantError.invalidTenantId(tenantId,
        `with schemaPattern "${this.pattern}" ids may have at most ${this.maxIdLength} characters (PostgreSQL names have at most ${MAX_IDENTIFIER_BYTES} bytes)`);
    }
    const schema = `${this.#prefix}${tenantId}${this.#suffix}`;
    if (this.#reserved.has(schema) || schema.startsWith('pg_')) {
      throw TenantError.invalidTenantId(tenantId, `its schema "${schema}" is reserved (PostgreSQL's, or the shared data's)`);
    }
    return schema;
  }

  /** The tenant id a schema name stands for under this pattern, or `undefined` when it is no tenant's schema. */
  tenantIdOf(schema: string): string | undefined {
    if (!schema.startsWith(this.#prefix) || !schema.endsWith(this.#suffix) || schema.length <= this.#prefix.length + this.#suffix.length) {
      return undefined;
    }
    const id = schema.slice(this.#prefix.length, schema.length - this.#suffix.length);
    if (!isValidTenantId(id)) {
      return undefined;
    }
    try {
      return this.schemaOf(id) === schema ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** A `LIKE` pattern (with `\` as escape) matching every schema this pattern can produce, and others: filter with {@link tenantIdOf}. */
  get likePattern(): string {
    const escape = (text: string) => text.replace(/[\\%_]/g, c => `\\${c}`);
    return `${escape(this.#prefix)}%${escape(this.#suffix)}`;
  }
}

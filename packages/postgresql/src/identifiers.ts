/** Quotes an identifier for SQL (schema names are validated before they get here; quoting is the second wall). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The `search_path` of a tenant: its schema first, then the shared schema. */
export function tenantSearchPath(schema: string, sharedSchema: string): string {
  return schema === sharedSchema ? quoteIdentifier(schema) : `${quoteIdentifier(schema)}, ${quoteIdentifier(sharedSchema)}`;
}

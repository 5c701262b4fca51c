import { Utils, type EntityMetadata, type EntityName, type MetadataStorage } from '@mikro-orm/core';
import { MAX_TENANT_ID_LENGTH, TenantError } from '@mikro-tenant/core';
import { allMetadata } from './entity-metadata.js';

/** A tenant-owned table, as the row-level security SQL and `deleteTenant()` need it. */
export interface TenantOwnedTable {
  /** Entity class name (the root of an STI hierarchy). */
  readonly className: string;
  /** Schema, when the entity names one. */
  readonly schema?: string;
  /** Table name. */
  readonly table: string;
  /** The tenant column. */
  readonly column: string;
  /** Class names of the tenant-owned entities this table has foreign keys to (its rows go first on deletion). */
  readonly references: readonly string[];
}

/**
 * The tenant-owned entities of a model: which classes carry the tenant column, under which property and
 * column. Declared once (`tenancy.entities`); the property is added at discovery when the entity does not
 * declare it, so entity code needs no change. Lookups are by class name, with no scan per statement.
 */
export class TenantOwnedModel {
  readonly #listed: Set<string>;
  readonly #property: string;
  /** Class name (STI children included) to the tenant property. */
  readonly #byClass = new Map<string, string>();
  #tables: TenantOwnedTable[] = [];
  #tableNames: RegExp | undefined;

  constructor(entities: readonly EntityName<any>[], property: string) {
    this.#listed = new Set(entities.map(entity => Utils.className(entity)));
    this.#property = property;
  }

  /** The tenant property's name. */
  get property(): string {
    return this.#property;
  }

  /** MikroORM's `discovery.onMetadata` step: adds the tenant property to listed entities that do not declare it. */
  onMetadata(meta: EntityMetadata): void {
    if (!this.#listed.has(meta.className) || meta.properties[this.#property as never]) {
      return;
    }
    // MikroORM 6 takes a second argument (sync now, or not: discovery syncs later); 7 always syncs.
    (meta.addProperty as (prop: unknown, sync?: boolean) => void).call(meta, {
      name: this.#property, kind: 'scalar', type: 'string', runtimeType: 'string', length: MAX_TENANT_ID_LENGTH, nullable: false, index: true,
    }, false);
  }

  /**
   * Reads the discovered metadata: every listed entity (and its STI children) carries the tenant property.
   * @throws TenantError `ERR_INVALID_OPTION` naming `tenancy.entities` or `tenancy.property`
   */
  bind(metadata: MetadataStorage): void {
    const all = allMetadata(metadata);
    for (const name of this.#listed) {
      const meta = all.find(m => m.className === name);
      if (!meta) {
        throw TenantError.invalidOption('tenancy.entities', `${name} was not discovered by MikroORM: list it in the ORM's entities too, or drop it here`);
      }
      const prop = meta.properties[this.#property as never] as { kind?: string; fieldNames?: string[] } | undefined;
      if (!prop || prop.kind !== 'scalar' || prop.fieldNames?.length !== 1) {
        throw TenantError.invalidOption('tenancy.property', `${name}.${this.#property} must be a plain string column (leave it out and it is added)`);
      }
    }
    for (const meta of all) {
      if (this.#listed.has(meta.root.className)) {
        this.#byClass.set(meta.className, this.#property);
      }
    }
    this.#tables = all.filter(meta => this.#listed.has(meta.className) && meta.root.className === meta.className).map(meta => ({
      className: meta.className,
      schema: meta.schema && meta.schema !== '*' ? meta.schema : undefined,
      table: meta.tableName,
      column: (meta.properties[this.#property as never] as { fieldNames: string[] }).fieldNames[0]!,
      references: meta.relations
        .filter(rel => (rel.kind === 'm:1' || (rel.kind === '1:1' && rel.owner)) && this.#listed.has(rel.targetMeta?.root.className ?? ''))
        .map(rel => rel.targetMeta!.root.className),
    }));
    const names = this.#tables.map(t => t.table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#tableNames = names.length > 0 ? new RegExp(`(^|[^a-z0-9_$])(${names.join('|')})($|[^a-z0-9_$])`, 'i') : undefined;
  }

  /** The tenant property of an entity, or `undefined` for an entity that is not tenant-owned. */
  propertyOf(entityName: string | undefined): string | undefined {
    return entityName === undefined ? undefined : this.#byClass.get(entityName);
  }

  /** The tenant-owned tables, those referencing others first (the order rows can be deleted in). */
  get tables(): readonly TenantOwnedTable[] {
    const ordered: TenantOwnedTable[] = [];
    const left = [...this.#tables];
    while (left.length > 0) {
      // A table nobody left references can go now; a cycle takes the rest as they come.
      const index = left.findIndex(t => !left.some(o => o !== t && o.references.includes(t.className)));
      ordered.push(...left.splice(index < 0 ? 0 : index, 1));
    }
    return ordered;
  }

  /** True when raw SQL names a tenant-owned table (a word match, quoted or not). */
  mentionsTenantTable(sql: string): boolean {
    return this.#tableNames?.test(sql) ?? false;
  }
}

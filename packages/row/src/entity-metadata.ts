import type { EntityMetadata, MetadataStorage } from '@mikro-orm/core';

/**
 * Metadata lookups by entity class name that read the same on MikroORM 6 and 7: 6 keys its storage by
 * class name (`getAll()` is a dictionary), 7 by class (`getAll()` is a Map, `has()` takes the class);
 * `find(name)` answers a class name on both.
 * @module
 */

/** Every discovered entity's metadata. */
export function allMetadata(metadata: MetadataStorage): EntityMetadata[] {
  const all = metadata.getAll() as unknown;
  return all instanceof Map ? [...(all as Map<unknown, EntityMetadata>).values()] : Object.values(all as Record<string, EntityMetadata>);
}

/** The metadata of the entity with this class name, if it was discovered. */
export function metadataByName(metadata: MetadataStorage, className: string): EntityMetadata | undefined {
  return (metadata.find(className as never) as EntityMetadata | undefined) ?? undefined;
}

/** Names an entity the way the installed major's driver methods take it (6: class name, 7: class). */
export type DriverEntityName = (meta: EntityMetadata) => unknown;

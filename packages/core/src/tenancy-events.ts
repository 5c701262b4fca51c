import type { TenantErrorCode } from './errors.js';

/**
 * How a tenant's storage was made: a copy of a template, its migrations run, one SQL script, tables from the
 * entities, or only registered (the row strategy: its tables are everyone's).
 */
export type TenantCreationMethod = 'template' | 'migrations' | 'script' | 'entities' | 'registered';

/** A failure as events carry it: plain data, the same in a listener and in the CLI's `--json` output. */
export interface TenantEventError {
  /** The error's code (`ERR_TENANT_MIGRATION_FAILED`...), when it has one. */
  code?: TenantErrorCode | string;
  message: string;
}

/** What every event carries. */
interface TenantEventBase {
  /** The canonical tenant id. */
  tenantId: string;
  /** When it happened (ISO 8601). */
  at: string;
}

/** A tenant's storage was created by this process (`createTenant()`, or the first use with `autoCreate`). */
export interface TenantCreatedEvent extends TenantEventBase {
  type: 'tenantCreated';
  how: TenantCreationMethod;
  /** The schema version it was created at. */
  schemaVersion: string | null;
  durationMs: number;
}

/** A tenant was opened (a cold open: it was not in the pool). */
export interface TenantOpenedEvent extends TenantEventBase {
  type: 'tenantOpened';
  durationMs: number;
}

/** A tenant left the pool: `maxOpen` was reached (`'idle'`: it was the least recently used) or the tenancy closed (`'closing'`). */
export interface TenantEvictedEvent extends TenantEventBase {
  type: 'tenantEvicted';
  reason: 'idle' | 'closing';
}

/** Migrations were applied to a tenant (`migrateTenant()`, the CLI's `migrate`). */
export interface TenantMigratedEvent extends TenantEventBase {
  type: 'tenantMigrated';
  /** The schema version before (`null`: unknown or none). */
  from: string | null;
  /** The schema version reached. */
  to: string | null;
  /** Names of the migrations applied. */
  executed: string[];
  durationMs: number;
}

/** Migrating a tenant failed; it was rolled back and stays at `from`. */
export interface TenantMigrationFailedEvent extends TenantEventBase {
  type: 'tenantMigrationFailed';
  from: string | null;
  error: TenantEventError;
  durationMs: number;
}

/** A tenant's storage and registry row were removed. */
export interface TenantDeletedEvent extends TenantEventBase {
  type: 'tenantDeleted';
  durationMs: number;
}

/** Creating a tenant failed; nothing of it was left behind. */
export interface TenantProvisioningFailedEvent extends TenantEventBase {
  type: 'tenantProvisioningFailed';
  error: TenantEventError;
  durationMs: number;
}

/** A write was refused because the tenant reached its size quota (`ERR_TENANT_QUOTA_EXCEEDED`). */
export interface TenantQuotaExceededEvent extends TenantEventBase {
  type: 'tenantQuotaExceeded';
  /** The tenant's quota in bytes. */
  limitBytes: number;
  /** Its size when the write was refused, when known. */
  sizeBytes?: number;
}

/** Every lifecycle event of a tenancy, told apart by `type`. */
export type TenancyEvent =
  | TenantCreatedEvent | TenantOpenedEvent | TenantEvictedEvent | TenantMigratedEvent | TenantMigrationFailedEvent
  | TenantDeletedEvent | TenantProvisioningFailedEvent | TenantQuotaExceededEvent;

/** The event types, each with its payload. */
export type TenancyEventMap = { [E in TenancyEvent as E['type']]: E };

/** A listener of one event type. */
export type TenancyEventListener<K extends keyof TenancyEventMap> = (event: TenancyEventMap[K]) => void;

/**
 * An object listening to the events it has methods for, as MikroORM's `EventSubscriber`s do: a method per
 * event type (`tenantCreated(event)`...), and `onEvent` for every event. Listeners run synchronously where
 * the event happens and cannot break it: what one throws goes to the tenancy's `warn` (`MIKRO_TENANT_LISTENER`).
 * @example
 * tenancy.events.subscribe({ tenantMigrated: e => log.info(e), tenantQuotaExceeded: e => alert(e.tenantId) });
 */
export type TenancySubscriber = { [K in keyof TenancyEventMap]?: TenancyEventListener<K> } & {
  /** Receives every event. */
  onEvent?(event: TenancyEvent): void;
};

/** The event types, for validation and documentation. */
export const TENANCY_EVENT_TYPES: readonly (keyof TenancyEventMap)[] = Object.freeze([
  'tenantCreated', 'tenantOpened', 'tenantEvicted', 'tenantMigrated', 'tenantMigrationFailed', 'tenantDeleted',
  'tenantProvisioningFailed', 'tenantQuotaExceeded',
] as const);

/** An event before {@link TenancyEvents.emit} stamps its `at`. */
type Unstamped<E = TenancyEvent> = E extends TenancyEvent ? Omit<E, 'at'> : never;

/**
 * The lifecycle events of one tenancy (`tenancy.events`): `subscribe()` objects, `on()` single listeners.
 * Emitting with no listener costs one check.
 */
export class TenancyEvents {
  readonly #subscribers: TenancySubscriber[] = [];
  readonly #warn: (message: string, code: string) => void;

  constructor(warn: (message: string, code: string) => void, subscribers: readonly TenancySubscriber[] = []) {
    this.#warn = warn;
    this.#subscribers.push(...subscribers);
  }

  /** Adds a subscriber; returns a function that removes it. */
  subscribe(subscriber: TenancySubscriber): () => void {
    this.#subscribers.push(subscriber);
    return () => {
      const index = this.#subscribers.indexOf(subscriber);
      if (index >= 0) {
        this.#subscribers.splice(index, 1);
      }
    };
  }

  /** Listens to one event type; returns a function that stops listening. */
  on<K extends keyof TenancyEventMap>(type: K, listener: TenancyEventListener<K>): () => void {
    return this.subscribe({ [type]: listener } as TenancySubscriber);
  }

  /** True when anyone listens (spares building an event nobody receives). */
  get listened(): boolean {
    return this.#subscribers.length > 0;
  }

  /**
   * Stamps an event with its time and delivers it to every listener, in subscription order; a listener's
   * error is a warning, never the caller's. Returns the event as delivered (for a report of the same shape).
   */
  emit(event: Unstamped): TenancyEvent {
    const full = { ...event, at: new Date().toISOString() } as unknown as TenancyEvent;
    if (this.#subscribers.length === 0) {
      return full;
    }
    for (const subscriber of [...this.#subscribers]) {
      this.#deliver(full, subscriber, subscriber[full.type] as ((e: TenancyEvent) => void) | undefined);
      this.#deliver(full, subscriber, subscriber.onEvent);
    }
    return full;
  }

  #deliver(event: TenancyEvent, subscriber: TenancySubscriber, listener: ((e: TenancyEvent) => void) | undefined): void {
    if (!listener) {
      return;
    }
    try {
      listener.call(subscriber, event);
    } catch (error) {
      this.#warn(`mikro-tenant: a listener of "${event.type}" (tenant "${event.tenantId}") threw: ${messageOf(error)}. `
        + 'The operation went on; catch errors in your listener.', 'MIKRO_TENANT_LISTENER');
    }
  }
}

/** An error as events carry it. */
export function eventError(error: unknown): TenantEventError {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? { code, message: messageOf(error) } : { message: messageOf(error) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

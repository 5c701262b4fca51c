/** One tenant's use over the window of {@link TenancyStats.tenants}. */
export interface TenantUsageRow {
  tenantId: string;
  /** Statements run. */
  queries: number;
  /** Time spent in them, in milliseconds (from sending to the answer, waiting for the connection included). */
  queryTimeMs: number;
}

/** One tenant's size as last measured. */
export interface TenantSizeRow {
  tenantId: string;
  sizeBytes: number;
  /** When it was measured (ISO 8601). */
  measuredAt: string;
}

/** The per-tenant view of {@link TenancyStats}: the noisy neighbours. */
export interface TenantUsageStats {
  /** Start of the window the query figures cover (ISO 8601): between one and two `stats.windowMs` ago. */
  since: string;
  /** Tenants by query time in the window, most expensive first (at most `stats.top`). */
  topByQueryTime: TenantUsageRow[];
  /** Tenants by size as last measured (on open and close, by `listTenants()`, by quota checks), largest first (at most `stats.top`). */
  topBySize: TenantSizeRow[];
}

/** Options of the per-tenant statistics (the `stats` option). */
export interface TenantStatsOptions {
  /** Length of the window query time is summed over. @default 60000 */
  windowMs?: number;
  /** How many tenants `stats()` lists (and the per-tenant metrics report). @default 10 */
  top?: number;
}

interface Usage {
  queries: number;
  timeMs: number;
}

/**
 * Query time per tenant over a sliding pair of windows, and sizes as last measured. Recording a query is
 * one map lookup and two additions; sorting happens only when someone asks (`stats()`, a metrics export).
 * Memory is bounded by the tenants active in two windows, plus one size per tenant measured (forgotten on deletion).
 */
export class TenantUsage {
  readonly windowMs: number;
  readonly top: number;
  #current = new Map<string, Usage>();
  #previous = new Map<string, Usage>();
  #windowStart = performance.now();
  #previousStart = Date.now();
  readonly #sizes = new Map<string, { bytes: number; at: number }>();

  constructor(options: TenantStatsOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.top = options.top ?? 10;
  }

  /** Records one statement of a tenant. `now` is `performance.now()` at its end. */
  query(tenantId: string, timeMs: number, now: number): void {
    if (now - this.#windowStart >= this.windowMs) {
      this.#roll(now);
    }
    const usage = this.#current.get(tenantId);
    if (usage) {
      usage.queries++;
      usage.timeMs += timeMs;
    } else {
      this.#current.set(tenantId, { queries: 1, timeMs });
    }
  }

  /** Records a tenant's size. */
  size(tenantId: string, bytes: number): void {
    this.#sizes.set(tenantId, { bytes, at: Date.now() });
  }

  /** Forgets a deleted tenant. */
  forget(tenantId: string): void {
    this.#sizes.delete(tenantId);
    this.#current.delete(tenantId);
    this.#previous.delete(tenantId);
  }

  /** One tenant's statements and their time over the window of {@link stats} (zeros when it ran none). */
  of(tenantId: string): { queries: number; queryTimeMs: number } {
    const now = performance.now();
    if (now - this.#windowStart >= this.windowMs) {
      this.#roll(now);
    }
    const previous = this.#previous.get(tenantId);
    const current = this.#current.get(tenantId);
    return {
      queries: (previous?.queries ?? 0) + (current?.queries ?? 0),
      queryTimeMs: round((previous?.timeMs ?? 0) + (current?.timeMs ?? 0)),
    };
  }

  /** The per-tenant view now. */
  stats(limit = this.top): TenantUsageStats {
    const now = performance.now();
    if (now - this.#windowStart >= this.windowMs) {
      this.#roll(now);
    }
    const summed = new Map<string, Usage>();
    for (const map of [this.#previous, this.#current]) {
      for (const [id, usage] of map) {
        const sum = summed.get(id);
        summed.set(id, sum ? { queries: sum.queries + usage.queries, timeMs: sum.timeMs + usage.timeMs } : { ...usage });
      }
    }
    const topByQueryTime = [...summed].sort((a, b) => b[1].timeMs - a[1].timeMs).slice(0, limit)
      .map(([tenantId, u]) => ({ tenantId, queries: u.queries, queryTimeMs: round(u.timeMs) }));
    const topBySize = [...this.#sizes].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, limit)
      .map(([tenantId, s]) => ({ tenantId, sizeBytes: s.bytes, measuredAt: new Date(s.at).toISOString() }));
    return { since: new Date(this.#previousStart).toISOString(), topByQueryTime, topBySize };
  }

  #roll(now: number): void {
    // Idle for more than a window: the previous window is empty too.
    const skipped = now - this.#windowStart >= 2 * this.windowMs;
    this.#previous = skipped ? new Map() : this.#current;
    this.#current = new Map();
    this.#previousStart = Date.now() - (skipped ? this.windowMs : now - this.#windowStart);
    this.#windowStart = now;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

import { TENANCY_EVENT_TYPES, type TenancySubscriber } from './tenancy-events.js';
import type { TenancyTelemetryOptions } from './tenancy-telemetry.js';
import { checkQuotaOption, type TenantQuotaOptions } from './tenant-quota.js';
import type { TenantStatsOptions } from './tenant-usage.js';

/**
 * The options every strategy takes for operating many tenants: lifecycle events, quotas, per-tenant
 * statistics and OpenTelemetry. A strategy's options interface extends it; its option checks include
 * {@link OPERATING_OPTION_CHECKS}.
 */
export interface TenancyOperatingOptions {
  /** Lifecycle event subscribers, as `tenancy.events.subscribe()` adds them (there from the first event on). @default [] */
  subscribers?: TenancySubscriber[];
  /** Per-tenant size limits. @default false (no limit) */
  quota?: TenantQuotaOptions | false;
  /**
   * The window and length of the per-tenant view of `stats()`; `false` stops timing statements (no query
   * figures in `stats()`, no query metrics or spans; sizes are still kept). @default { windowMs: 60000, top: 10 }
   */
  stats?: TenantStatsOptions | false;
  /** Where spans and metrics go. @default the global OpenTelemetry providers (no-ops without an SDK) */
  telemetry?: TenancyTelemetryOptions;
}

/** The defaults of {@link TenancyOperatingOptions}, for a strategy's `DEFAULTS`. */
export const OPERATING_OPTION_DEFAULTS = Object.freeze({ subscribers: [] as TenancySubscriber[], quota: false as const, stats: {}, telemetry: {} });

type Check = (value: any) => string | undefined;

/** Checks of {@link TenancyOperatingOptions}, for a strategy's option checks: `undefined` when fine, else what was expected. */
export const OPERATING_OPTION_CHECKS: Readonly<Record<keyof TenancyOperatingOptions, Check>> = Object.freeze({
  subscribers: (v: unknown) => (Array.isArray(v) && v.every(isSubscriber) ? undefined
    : `expected an array of subscribers, objects with methods named after events (${TENANCY_EVENT_TYPES.join(', ')}, onEvent)`),
  quota: checkQuotaOption,
  stats: (v: unknown) => {
    if (v === false) {
      return undefined;
    }
    if (!isObject(v)) {
      return 'expected { windowMs?, top? } or false';
    }
    const { windowMs, top, ...rest } = v;
    const unknown = Object.keys(rest)[0];
    return unknown !== undefined ? `"${unknown}" is not a stats option (windowMs, top)`
      : windowMs !== undefined && !(typeof windowMs === 'number' && Number.isFinite(windowMs) && windowMs > 0) ? 'windowMs: expected a positive number of milliseconds'
        : top !== undefined && !(Number.isInteger(top) && (top as number) >= 1) ? 'top: expected a positive integer'
          : undefined;
  },
  telemetry: (v: unknown) => {
    if (!isObject(v)) {
      return 'expected { tracerProvider?, meterProvider? }';
    }
    const { tracerProvider, meterProvider, ...rest } = v;
    const unknown = Object.keys(rest)[0];
    return unknown !== undefined ? `"${unknown}" is not a telemetry option (tracerProvider, meterProvider)`
      : tracerProvider !== undefined && typeof (tracerProvider as { getTracer?: unknown }).getTracer !== 'function' ? 'tracerProvider: expected an OpenTelemetry TracerProvider'
        : meterProvider !== undefined && typeof (meterProvider as { getMeter?: unknown }).getMeter !== 'function' ? 'meterProvider: expected an OpenTelemetry MeterProvider'
          : undefined;
  },
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSubscriber(value: unknown): boolean {
  if (!isObject(value)) {
    return false;
  }
  return [...TENANCY_EVENT_TYPES, 'onEvent'].some(name => typeof (value as Record<string, unknown>)[name] === 'function');
}

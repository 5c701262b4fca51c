import type { AdminTenancy } from '@mikro-tenant/core';
import type { CliIo } from './io.js';
import { failedOutcome } from './migrate-tenant.js';
import { pendingChanges, targetTenants } from './tenant-status.js';

/** What `migrate --check` found; `--json` prints it. */
export interface CheckReport {
  /** How many tenants were looked at. */
  checked: number;
  /** Tenants with something to apply, and what. */
  pending: { tenantId: string; pending: string[] }[];
  /** Registered tenants without their storage (file, schema). */
  missing: string[];
  /** Tenants whose database could not be read. */
  errors: { tenantId: string; error: string; code: string }[];
}

/**
 * `mikro-tenant migrate --check`: writes nothing; lists tenants with pending migrations (and registered
 * tenants without their storage, or whose storage cannot be read). Resolves 1 when there are any, so deploy scripts can detect drift, else 0.
 *
 * @throws CliError `ERR_TENANT_NOT_FOUND`; TenantError `ERR_INVALID_TENANT_ID`
 */
export async function checkMigrations(tenancy: AdminTenancy, options: { tenant?: string; json?: boolean }, io: CliIo): Promise<number> {
  const { present, missing } = await targetTenants(tenancy, options.tenant);
  // After the checks: a refused request stays one line on stderr.
  const note = tenancy.admin().migrateNote;
  if (note) {
    io.err(`mikro-tenant: ${note}\n`);
  }
  const report: CheckReport = { checked: present.length + missing.length, pending: [], missing, errors: [] };
  for (const tenantId of present) {
    try {
      const pending = await pendingChanges(tenancy, tenantId);
      if (pending.length) {
        report.pending.push({ tenantId, pending });
      }
    } catch (error) {
      const { error: message, code } = failedOutcome(tenantId, error);
      report.errors.push({ tenantId, error: message!, code: code! });
    }
  }
  printCheckReport(report, options.json === true, io, tenancy.admin().storage);
  return report.pending.length + report.missing.length + report.errors.length ? 1 : 0;
}

/** Prints a check report: JSON on one line, or one line per tenant that is not up to date and a count. */
export function printCheckReport(report: CheckReport, json: boolean, io: CliIo, storage = 'file'): void {
  const drift = report.pending.length + report.missing.length + report.errors.length;
  if (json) {
    io.out(`${JSON.stringify(report)}\n`);
  } else if (drift) {
    for (const entry of report.pending) {
      io.out(`${entry.tenantId}: ${entry.pending.join(', ')}\n`);
    }
    for (const tenantId of report.missing) {
      io.out(`${tenantId}: database ${storage} missing (see mikro-tenant reconcile)\n`);
    }
    for (const entry of report.errors) {
      io.out(`${entry.tenantId}: cannot be checked: ${entry.error} (${entry.code})\n`);
    }
    io.out(`${drift} of ${report.checked} tenants are not up to date\n`);
  } else {
    io.out(`all ${report.checked} tenants are up to date\n`);
  }
}

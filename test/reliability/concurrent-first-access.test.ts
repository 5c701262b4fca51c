import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Note } from '../fixtures/entities.js';
import { twoMigrations } from '../fixtures/migrations.js';
import { makeTenancy, tempDir } from '../helpers.js';
import { lastJson, report, size, startChild } from './support.js';

interface AccessResult { ok: number; errors: string[]; stats: { provisioned: number; provisionRaces: number } }

describe('reliability: concurrent first access of one new tenant', function () {
  this.timeout(120_000);
  const requests = size(50, 50);

  it(`${requests} concurrent requests in one process: one provisioning, no error, one registry row`, async () => {
    const { dir, cleanup } = tempDir('mt-first');
    const tenancy = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
    try {
      const results = await Promise.allSettled(Array.from({ length: requests }, () => tenancy.run('fresh', em => em.count(Note, {}))));
      const errors = results.filter(r => r.status === 'rejected').length;
      const rows = (await tenancy.registry.list()).length;
      report('first access, 1 process', { requests, errors, provisioned: tenancy.stats().provisioned, registryRows: rows });
      expect(errors).to.equal(0);
      expect(tenancy.stats().provisioned).to.equal(1);
      expect(rows).to.equal(1);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });

  // Regression: a process whose open failed before another process placed the file reported ERR_TENANT_OPEN_FAILED.
  it(`${requests} concurrent requests per tenant split over 4 processes, for 20 new tenants: one provisioning each, no error`, async () => {
    const { dir, cleanup } = tempDir('mt-first4');
    try {
      const setup = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
      await setup.buildTemplate();
      await setup.close();
      const ids = Array.from({ length: 20 }, (_, i) => `new${i}`);
      const perProcess = Math.ceil(requests / 4);
      const children = Array.from({ length: 4 }, () => startChild([dir, 'access', ids.join(','), String(perProcess)]));
      await Promise.all(children.map(child => child.ready));
      writeFileSync(join(dir, 'go'), '');
      const runs = await Promise.all(children.map(child => child.done));
      const results = runs.map(run => {
        expect(run.code, run.stderr).to.equal(0);
        return lastJson<AccessResult>(run.stdout);
      });
      const check = await makeTenancy(dir, { migrations: { migrationsList: twoMigrations } });
      const rows = (await check.registry.list()).map(r => r.tenantId);
      await check.close();
      const provisioned = results.reduce((n, r) => n + r.stats.provisioned, 0);
      const errors = results.flatMap(r => r.errors);
      report('first access, 4 processes', {
        tenants: ids.length, requests: perProcess * 4 * ids.length, errors: errors.length, provisioned,
        racesLost: results.reduce((n, r) => n + r.stats.provisionRaces, 0), registryRows: rows.length,
      });
      expect(errors.slice(0, 3)).to.deep.equal([]);
      expect(results.reduce((n, r) => n + r.ok, 0)).to.equal(perProcess * 4 * ids.length);
      expect(provisioned).to.equal(ids.length);
      expect(rows).to.deep.equal([...ids].sort());
      expect(readdirSync(join(dir, 'tenants')).filter(n => n.endsWith('.sqlite3')).length).to.equal(ids.length);
    } finally {
      cleanup();
    }
  });
});

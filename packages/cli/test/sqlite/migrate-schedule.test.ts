import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import type { AdminTenancy } from '@mikro-tenant/core';
import { migrateAdaptively } from '../../dist/migrate-schedule.js';
import { openTenancy } from '../../dist/load-config.js';
import type { TenantMigrationOutcome } from '../../dist/migrate-tenant.js';
import { tempDir } from '../../../../test/helpers.js';
import { moduleUrl } from '../../../../test/orm-packages.js';
import { bufferIo, writeMjsConfig } from './helpers.js';


/**
 * A JavaScript config whose second migration (with `migrations: 2`) records the id of the process that ran
 * it in a `who` table of the tenant, and takes `ms` in this (the test's) process, none in workers.
 */
function writeWhoConfig(dir: string, migrations: 1 | 2, ms: number): string {
  const path = join(dir, 'mikro-tenant.config.mjs');
  writeFileSync(path, `import { defineEntity, p } from ${JSON.stringify(moduleUrl('@mikro-orm/core'))};
import { Migration } from ${JSON.stringify(moduleUrl('@mikro-orm/migrations'))};
const Item = defineEntity({ name: 'Item', properties: { id: p.integer().primary().autoincrement(), name: p.string() } });
class M001 extends Migration {
  async up() { this.addSql('create table \`item\` (\`id\` integer not null primary key autoincrement, \`name\` text not null);'); }
}
class M002 extends Migration {
  async up() {
    if (process.pid === ${process.pid}) {
      await new Promise(resolve => setTimeout(resolve, ${ms}));
    }
    this.addSql('create table \`who\` (\`pid\` integer not null);');
    this.addSql('insert into \`who\` values (' + process.pid + ');');
  }
}
export default {
  dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))}, entities: [], discovery: { warnWhenNoEntities: false },
  tenancy: { dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Item], warn: () => undefined,
    migrations: { migrationsList: [{ name: 'M001', class: M001 }, { name: 'M002', class: M002 }].slice(0, ${migrations}) } },
};
`);
  return path;
}

/** Which process migrated a tenant (its `who` row), and how many rows the migrations table has for M002. */
function whoMigrated(dir: string, id: string): { pid: number; m002: number } {
  const db = new Database(join(dir, 'tenants', `tenant_${id}.sqlite3`), { readonly: true });
  try {
    const pids = db.prepare('select pid from who').pluck().all() as number[];
    expect(pids, `tenant ${id} migrated once`).to.have.length(1);
    return { pid: pids[0]!, m002: (db.prepare('select count(*) from mikro_orm_migrations where name = \'M002\'').pluck().get() as number) };
  } finally {
    db.close();
  }
}

describe('mikro-tenant migrate: who migrates (this process, workers)', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-schedule'));
  });

  afterEach(() => cleanup());

  /** `count` tenants at M001, then a tenancy of the config with M002 and the ids in queue order. */
  async function tenantsBehind(count: number, ms: number): Promise<{ tenancy: AdminTenancy; ids: string[]; config: string }> {
    const ids = Array.from({ length: count }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const setup = await openTenancy(writeWhoConfig(dir, 1, ms));
    for (const id of ids) {
      await setup.createTenant(id);
    }
    await setup.close();
    const config = writeWhoConfig(dir, 2, ms);
    return { tenancy: await openTenancy(config), ids, config };
  }

  it('by default migrates a short run in this process; a migration calling process.exit() fails only its tenant', async () => {
    writeMjsConfig(dir, 1);
    const ids = ['crash', 't1', 't2', 't3'];
    const setup = bufferIo();
    for (const id of ids) {
      expect(await runCli(['create', id], setup, dir), setup.stderr).to.equal(0);
    }
    const marker = new Database(join(dir, 'tenants', 'tenant_crash.sqlite3'));
    marker.exec('create table crash_here (x)');
    marker.close();
    writeMjsConfig(dir, 2);
    const io = bufferIo();
    expect(await runCli(['migrate', '--json'], io, dir)).to.equal(1);
    const summary = JSON.parse(io.stdout) as { workers: number; migrated: { tenantId: string }[]; failed: { tenantId: string; code: string; error: string }[] };
    expect(summary.workers).to.equal(0);
    expect(summary.migrated.map(m => m.tenantId)).to.deep.equal(['t1', 't2', 't3']);
    expect(summary.failed).to.have.length(1);
    expect(summary.failed[0]).to.include({ tenantId: 'crash', code: 'ERR_TENANT_MIGRATION_FAILED' });
    expect(summary.failed[0]!.error).to.include('process.exit(7)');
    const crashed = new Database(join(dir, 'tenants', 'tenant_crash.sqlite3'), { readonly: true });
    expect(crashed.prepare('select name from mikro_orm_migrations').pluck().all()).to.deep.equal(['M001']);
    crashed.close();
  });

  it('hands a long run over to workers once they are ready: every tenant migrated once, by this process first, then by workers', async () => {
    // Slow here, fast in workers: this process cannot finish the queue before a worker is ready (up to 30 s).
    const { tenancy, ids, config } = await tenantsBehind(300, 100);
    const outcomes: TenantMigrationOutcome[] = [];
    let workers: number;
    try {
      workers = await migrateAdaptively(tenancy, [...ids], { concurrency: 2, configPath: config, workerStartMs: 0 }, o => outcomes.push(o));
    } finally {
      await tenancy.close();
    }
    expect(workers).to.be.greaterThan(0);
    expect(outcomes.map(o => o.tenantId).sort()).to.deep.equal(ids);
    expect(outcomes.every(o => o.status === 'migrated')).to.equal(true);
    const by = ids.map(id => whoMigrated(dir, id));
    expect(by.every(w => w.m002 === 1)).to.equal(true);
    const mine = ids.filter((_, i) => by[i]!.pid === process.pid);
    expect(mine.length, 'this process migrated the first tenants').to.be.greaterThan(4);
    expect(mine.length, 'workers migrated the rest').to.be.lessThan(ids.length);
    // This process stopped taking tenants once a worker was ready: its tenants are the first of the queue.
    expect(mine).to.deep.equal(ids.slice(0, mine.length));
  });

  it('stops the workers it started when it got through the queue before they were ready', async () => {
    const { tenancy, ids, config } = await tenantsBehind(7, 20);
    const outcomes: TenantMigrationOutcome[] = [];
    try {
      await migrateAdaptively(tenancy, [...ids], { concurrency: 2, configPath: config, workerStartMs: 0 }, o => outcomes.push(o));
    } finally {
      await tenancy.close();
    }
    expect(outcomes.map(o => o.tenantId)).to.deep.equal(ids);
    expect(ids.every(id => whoMigrated(dir, id).pid === process.pid)).to.equal(true);
  });
});

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'chai';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { makeTenancy, tempDir, type SqlTenancy } from './helpers.js';

// The installed major's better-sqlite3 (the one the tenancy's connections use).
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

// A new tenant's registry row is inserted on the shared connection's own handle when nothing else uses
// it: these pin the cases where it must go MikroORM's way instead, and what a caller sees either way.
describe('registry rows written on the shared handle', () => {
  let dir: string;
  let cleanup: () => void;
  let tenancy: SqlTenancy | undefined;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(async () => {
    await tenancy?.close();
    tenancy = undefined;
    cleanup();
  });

  const writtenRow = (id: string) => tenancy!.orm.em.fork().getConnection().execute<{ tenant_id: string; location: string; created_at: number; schema_version: string | null }[]>(
    'select * from mikro_tenant_registry where tenant_id = ?', [id]).then(rows => rows[0]);

  it('createTenant() resolves with the row written, as the query path writes it', async () => {
    tenancy = await makeTenancy(dir);
    const before = Date.now();
    const record = await tenancy.createTenant('direct');
    const row = await writtenRow('direct');
    expect(row).to.include({ tenant_id: 'direct', location: 'tenant_direct.sqlite3', schema_version: record.schemaVersion });
    expect(Number(row!.created_at)).to.equal(record.createdAt.getTime()).and.to.be.at.least(before);
    // The query path's row (register() of one tenant goes that way), for comparison: the same columns, the same types.
    await tenancy.registry.register({ tenantId: 'queried', location: 'tenant_queried.sqlite3', schemaVersion: record.schemaVersion, createdAt: record.createdAt });
    const queried = await writtenRow('queried');
    expect(Object.entries(queried!).map(([k, v]) => [k, typeof v])).to.deep.equal(Object.entries(row!).map(([k, v]) => [k, typeof v]));
  });

  it('waits with timers, not inside SQLite, while another process holds the shared write lock', async () => {
    tenancy = await makeTenancy(dir);
    await tenancy.buildTemplate();
    const other = new Database(join(dir, 'shared.sqlite3'));
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 5);
    try {
      other.exec('begin immediate');
      const creating = tenancy.createTenant('waiting');
      setTimeout(() => other.exec('commit'), 150);
      await creating;
    } finally {
      clearInterval(timer);
      if (other.inTransaction) {
        other.exec('rollback');
      }
      other.close();
    }
    expect(await writtenRow('waiting')).to.include({ tenant_id: 'waiting' });
    // A blocked event loop (SQLite's own busy wait) would have let the interval run about once.
    expect(ticks).to.be.at.least(10);
  });

  it('keeps the row out of a shared transaction open on the connection (its rollback would lose it)', async () => {
    tenancy = await makeTenancy(dir);
    await tenancy.orm.em.fork().transactional(async () => {
      // Provisioned inside the transaction; the row's write starts while it is open on the same handle.
      await tenancy!.run('inside', async () => undefined);
      await new Promise(resolve => setTimeout(resolve, 20));
      throw new Error('roll back');
    }).catch(() => undefined);
    await tenancy.registry.flush();
    expect(await writtenRow('inside')).to.include({ tenant_id: 'inside' });
  });

  it('goes through MikroORM when it logs queries, so the insert is in the log', async () => {
    const lines: string[] = [];
    tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], allowGlobalContext: false,
      debug: ['query'], logger: line => lines.push(line), colors: false,
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    }) as SqlTenancy;
    await tenancy.createTenant('logged');
    expect(lines.filter(line => /insert into mikro_tenant_registry/.test(line))).to.have.length(1);
  });
});

import { expect } from 'chai';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { SqliteTenancy, type TenantEntityManager as AnyTenantEntityManager } from '@mikro-tenant/sqlite';
import { Account, Entry } from './fixtures/shared-write-entities.js';
import { tempDir } from './helpers.js';
import { rawThroughQueryBuilder } from './orm-packages.js';
import { makeAccountsTenancy, seedAccounts, sharedWriteBurst, untilUnderBar, withLoopMonitor } from './shared-write-helpers.js';

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  }
  return undefined;
}

async function visitsOf(tenancy: SqliteTenancy<SqlEntityManager>, id: string): Promise<number> {
  return (await tenancy.orm.em.fork().findOneOrFail(Account, id)).visits;
}

type TenantEntityManager = AnyTenantEntityManager<SqlEntityManager>;

describe('shared rows written through tenant EntityManagers never stall the process', () => {
  let tenancy: SqliteTenancy<SqlEntityManager>;
  let dir: string;
  let cleanup: () => void;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('mt-shared'));
    tenancy = await makeAccountsTenancy(dir);
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('two tenants changing shared rows in overlapping transactions both commit, without waiting on a lock', async () => {
    await seedAccounts(tenancy, 2, 0);
    const figures = await sharedWriteBurst(tenancy, 2, 0);
    expect(figures.errors).to.deep.equal([]);
    expect(figures.visits).to.equal(2);
    expect(figures.elapsedMs).to.be.below(1000);
    expect(figures.maxBlockMs).to.be.below(200);
  });

  it('150 concurrent shared writes (100 tenant transactions awaiting between statements, 50 shared): 0 errors, nothing lost, no event-loop block over 200 ms', async function () {
    this.timeout(120_000);
    const runs = await untilUnderBar(200, 3, async () => {
      const prefix = `r${Math.random().toString(36).slice(2, 6)}-`;
      await seedAccounts(tenancy, 100, 50, prefix);
      const figures = await sharedWriteBurst(tenancy, 100, 50, prefix);
      process.stdout.write(`      [figures] 150 shared writes: errors=${figures.errors.length} visits=${figures.visits}/${figures.expected} `
        + `peakInFlight=${figures.peakInFlight} maxBlockMs=${figures.maxBlockMs.toFixed(1)} elapsedMs=${figures.elapsedMs.toFixed(0)}\n`);
      expect(figures.errors).to.deep.equal([]);
      expect(figures.visits).to.equal(150);
      const entries = await Promise.all(Array.from({ length: 100 }, (_, i) => tenancy.run(`${prefix}t${i}`, em => em.count(Entry, {}))));
      expect(entries.every(n => n === 2)).to.equal(true);
      return [figures];
    });
    expect(runs.at(-1)![0]!.maxBlockMs).to.be.below(200);
  });

  describe('every way a tenant EntityManager writes a shared entity goes over the shared connection', () => {
    let sharedStatements: string[];

    beforeEach(async () => {
      await seedAccounts(tenancy, 1, 0);
      sharedStatements = [];
      const connection = tenancy.orm.em.getConnection();
      const execute = connection.execute.bind(connection);
      connection.execute = (async (...args: Parameters<typeof execute>) => {
        sharedStatements.push(String(args[0]));
        return execute(...args);
      }) as typeof connection.execute;
    });

    const writes: [string, (em: TenantEntityManager) => Promise<unknown>, (t: SqliteTenancy<SqlEntityManager>) => Promise<boolean>][] = [
      ['a change flushed (loaded through a relation)', async em => {
        const entry = await em.findOneOrFail(Entry, { text: 'seed' }, { populate: ['account'] });
        entry.account.visits = 7;
        await em.flush();
      }, async t => (await visitsOf(t, 'a0')) === 7],
      ['a new entity flushed (with the tenant row referencing it)', async em => {
        em.create(Entry, { text: 'new', account: em.create(Account, { id: 'fresh', visits: 1 }) });
        await em.flush();
      }, async t => (await visitsOf(t, 'fresh')) === 1],
      ['a removal flushed', async em => {
        await em.insert(Account, { id: 'doomed', visits: 0 });
        em.remove(await em.findOneOrFail(Account, 'doomed'));
        await em.flush();
      }, async t => (await t.orm.em.fork().count(Account, { id: 'doomed' })) === 0],
      ['em.insert', em => em.insert(Account, { id: 'ins', visits: 2 }), async t => (await visitsOf(t, 'ins')) === 2],
      ['em.insertMany', em => em.insertMany(Account, [{ id: 'm1', visits: 3 }, { id: 'm2', visits: 3 }]),
        async t => (await visitsOf(t, 'm2')) === 3],
      ['em.nativeUpdate', em => em.nativeUpdate(Account, { id: 'a0' }, { visits: 4 }), async t => (await visitsOf(t, 'a0')) === 4],
      ['em.nativeDelete', async em => { await em.insert(Account, { id: 'gone', visits: 0 }); await em.nativeDelete(Account, { id: 'gone' }); },
        async t => (await t.orm.em.fork().count(Account, { id: 'gone' })) === 0],
      ['em.upsert', em => em.upsert(Account, { id: 'a0', visits: 5 }), async t => (await visitsOf(t, 'a0')) === 5],
      ['em.upsertMany', em => em.upsertMany(Account, [{ id: 'a0', visits: 6 }, { id: 'up', visits: 6 }]),
        async t => (await visitsOf(t, 'up')) === 6],
    ];
    for (const [name, write, check] of writes) {
      for (const inTransaction of [false, true]) {
        it(`${name}${inTransaction ? ' inside a tenant transaction' : ''}`, async () => {
          await tenancy.run('t0', em => (inTransaction ? em.transactional(trx => write(trx as TenantEntityManager)) : write(em)));
          expect(await check(tenancy), 'the change is in the shared database').to.equal(true);
          expect(sharedStatements.some(sql => /^(insert|update|delete)\b.*`account`/i.test(sql)), 'written over the shared connection').to.equal(true);
        });
      }
    }
  });

  describe('statements that would write the shared file over a tenant connection are refused before they run', () => {
    let seeded: number;

    beforeEach(async () => {
      await seedAccounts(tenancy, 1, 0);
      seeded = await tenancy.orm.em.fork().count(Account, {});
    });

    const refused: [string, (em: TenantEntityManager) => Promise<unknown>][] = [
      ['QueryBuilder update', em => em.createQueryBuilder(Account).update({ visits: 9 }).where({ id: 'a0' }).execute()],
      ['QueryBuilder insert', em => em.createQueryBuilder(Account).insert({ id: 'qb', visits: 9 }).execute()],
      ['QueryBuilder delete', em => em.createQueryBuilder(Account).delete({ id: 'a0' }).execute()],
      ['raw update', em => em.execute("update account set visits = 9 where id = 'a0'")],
      ['raw insert (schema-qualified)', em => em.execute("insert into shared.account (id, visits) values ('raw', 9)")],
      ['raw delete', em => em.execute('delete from `account`')],
      ['raw update matching no row (it would still take the write lock)', em => em.execute("update account set visits = 9 where id = 'none'")],
      ['raw update with bindings through knex (6) or kysely (7)', em => rawThroughQueryBuilder(em, 'update account set visits = ? where id = ?', [9, 'a0'])],
      ['the registry table', em => em.execute("delete from mikro_tenant_registry where tenant_id = 't0'")],
    ];
    for (const [name, statement] of refused) {
      for (const inTransaction of [false, true]) {
        it(`${name}${inTransaction ? ' inside a tenant transaction' : ''}: ERR_SHARED_WRITE_ON_TENANT_EM`, async () => {
          const code = await codeOf(() => tenancy.run('t0', em => (inTransaction
            ? em.transactional(trx => statement(trx as TenantEntityManager)) : statement(em))));
          expect(code).to.equal('ERR_SHARED_WRITE_ON_TENANT_EM');
          expect(await visitsOf(tenancy, 'a0')).to.equal(0);
          expect(await tenancy.orm.em.fork().count(Account, {})).to.equal(seeded);
          expect(await tenancy.registry.exists('t0')).to.equal(true);
          // The shared file's write lock is free: a shared write does not wait.
          const { elapsedMs } = await withLoopMonitor(() => tenancy.orm.em.fork().nativeUpdate(Account, { id: 'a0' }, { visits: 0 }));
          expect(elapsedMs).to.be.below(1000);
        });
      }
    }

    it('lets tenant writes that merely mention a shared name through, and reads of shared tables', async () => {
      await tenancy.run('t0', async em => {
        await em.execute("insert into entry (text, account_id) values ('account shared', 'a0')");
        em.create(Entry, { text: 'account', account: 'a0' });
        await em.flush();
        expect(await em.execute("select visits from account where id = 'a0'")).to.deep.equal([{ visits: 0 }]);
        expect(await em.count(Entry, { account: { visits: 0 } })).to.equal(3);
      });
    });
  });

  describe('atomicity: the shared writes of a tenant transaction commit and roll back with it', () => {
    beforeEach(async () => {
      await seedAccounts(tenancy, 1, 0);
    });

    it('rolls the shared change back when the tenant transaction fails', async () => {
      const code = await codeOf(() => tenancy.run('t0', em => em.transactional(async trx => {
        const entry = await trx.findOneOrFail(Entry, { text: 'seed' }, { populate: ['account'] });
        entry.account.visits = 1;
        trx.create(Entry, { text: 'lost', account: entry.account });
        await trx.flush();
        throw new Error('boom');
      })));
      expect(code).to.equal('boom');
      expect(await visitsOf(tenancy, 'a0')).to.equal(0);
      expect(await tenancy.run('t0', em => em.count(Entry, {}))).to.equal(1);
    });

    it('rolls back a nested transaction\'s shared change with its savepoint and keeps the outer one\'s', async () => {
      await tenancy.run('t0', em => em.transactional(async trx => {
        await trx.nativeUpdate(Account, { id: 'a0' }, { visits: 1 });
        await trx.transactional(async inner => {
          await inner.insert(Account, { id: 'inner', visits: 1 });
          throw new Error('inner fails');
        }).catch(() => undefined);
        await trx.insert(Account, { id: 'after', visits: 1 });
      }));
      const ids = (await tenancy.orm.em.fork().find(Account, { id: { $nin: ['aw', 'sw'] } }, { orderBy: { id: 'asc' } })).map(a => `${a.id}:${a.visits}`);
      expect(ids).to.deep.equal(['a0:1', 'after:1']);
    });

    it('reads its own shared writes inside the transaction', async () => {
      await tenancy.run('t0', em => em.transactional(async trx => {
        await trx.nativeUpdate(Account, { id: 'a0' }, { visits: 3 });
        expect(await trx.count(Account, { visits: 3 })).to.equal(1);
        expect((await trx.findOneOrFail(Account, 'a0', { refresh: true })).visits).to.equal(3);
      }));
    });

    it('joins a shared transaction open around the tenant work, and rolls back with it', async () => {
      const code = await codeOf(() => tenancy.orm.em.fork().transactional(async shared => {
        await shared.nativeUpdate(Account, { id: 'a0' }, { visits: 1 });
        await tenancy.run('t0', em => em.transactional(async trx => {
          const entry = await trx.findOneOrFail(Entry, { text: 'seed' }, { populate: ['account'] });
          entry.account.visits = 2;
        }));
        throw new Error('outer fails');
      }));
      expect(code).to.equal('outer fails');
      expect(await visitsOf(tenancy, 'a0')).to.equal(0);
      await tenancy.orm.em.fork().transactional(() => tenancy.run('t0', em => em.nativeUpdate(Account, { id: 'a0' }, { visits: 5 })));
      expect(await visitsOf(tenancy, 'a0')).to.equal(5);
    });
  });

  describe('the shared connection', () => {
    it('waits for another connection\'s write lock with timers, not inside SQLite (the event loop keeps running)', async () => {
      await seedAccounts(tenancy, 1, 0);
      const other = new Database(join(dir, 'shared.sqlite3'));
      try {
        other.exec('begin immediate');
        setTimeout(() => other.exec('commit'), 300);
        const { elapsedMs, maxBlockMs } = await withLoopMonitor(async () => {
          await tenancy.orm.em.fork().nativeUpdate(Account, { id: 'a0' }, { visits: 1 });
          await tenancy.run('t0', em => em.transactional(async trx => {
            (await trx.findOneOrFail(Entry, { text: 'seed' }, { populate: ['account'] })).account.visits = 2;
          }));
        });
        expect(elapsedMs).to.be.at.least(250);
        expect(maxBlockMs).to.be.below(100);
        expect(await visitsOf(tenancy, 'a0')).to.equal(2);
      } finally {
        other.close();
      }
    });

    it('gives up after the busy_timeout budget with SQLITE_BUSY', async () => {
      const { dir: other, cleanup: cleanupOther } = tempDir('mt-budget');
      const short = await makeAccountsTenancy(other, { sharedPragmas: { busy_timeout: 150 } });
      const holder = new Database(join(other, 'shared.sqlite3'));
      try {
        holder.exec('begin immediate');
        const { result: code, elapsedMs, maxBlockMs } = await withLoopMonitor(() => codeOf(() => short.orm.em.fork().insert(Account, { id: 'x' })));
        expect(code).to.match(/SQLITE_BUSY|database is locked/);
        expect(elapsedMs).to.be.within(140, 2000);
        expect(maxBlockMs).to.be.below(100);
      } finally {
        holder.exec('rollback');
        holder.close();
        await short.close();
        cleanupOther();
      }
    });

    it('refuses a pool of more than one connection, and a shared file out of WAL that tenants attach: ERR_INVALID_OPTION', async () => {
      const { dir: other, cleanup: cleanupOther } = tempDir('mt-opts');
      try {
        const pool = await SqliteTenancy.init({
          dbName: join(other, 'pool.sqlite3'), entities: [Account], pool: { max: 2 }, tenancy: { dir: join(other, 'tp'), entities: [Entry] },
        }).catch(e => e as { code?: string });
        expect(pool).to.have.property('code', 'ERR_INVALID_OPTION');
        for (const sharedPragmas of [false, { journal_mode: 'DELETE' }] as const) {
          const error = await makeAccountsTenancy(join(other, `j${String(sharedPragmas)}`), { sharedPragmas }).catch(e => e as { code?: string });
          expect(error, JSON.stringify(sharedPragmas)).to.have.property('code', 'ERR_INVALID_OPTION');
        }
        const unattached = await makeAccountsTenancy(join(other, 'noattach'), { sharedPragmas: false, attach: false });
        await unattached.close();
      } finally {
        cleanupOther();
      }
    });
  });
});

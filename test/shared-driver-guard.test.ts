import { join } from 'node:path';
import { expect } from 'chai';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { Label, LEFTOVER_TABLES, LEFTOVER_TABLES_SQL, Member, Note, guardSharedEntities, guardTenantEntities } from './fixtures/guard-model.js';
import { sharedGuardCases } from './fixtures/shared-guard-cases.js';
import { ormAdapter, tempDir, warningCollector, type SqlTenancy } from './helpers.js';

/** How the installed major's guard classifies the shared driver's methods (`@mikro-tenant/sql`'s guard for that major). */
const GUARDED_METHODS = ormAdapter().guardedMethods;

const TENANT_TABLE = new RegExp(`[\`"'](${LEFTOVER_TABLES.join('|')})[\`"']`);

describe('the shared EntityManager refuses per-tenant entities on every route to SQL', () => {
  let tenancy: SqlTenancy;
  let cleanup: () => void;
  /** Every statement the shared connection ran (MikroORM's query log). */
  const statements: string[] = [];
  let original: string;

  const snapshot = async (): Promise<string> => {
    const em = tenancy.orm.em.fork();
    const tables = await Promise.all([...LEFTOVER_TABLES, 'member', 'account'].map(table => em.execute(`select * from \`${table}\` order by 1`)));
    return JSON.stringify(tables);
  };

  const restore = async (): Promise<void> => {
    const em = tenancy.orm.em.fork();
    for (const table of LEFTOVER_TABLES) {
      await em.execute(`drop table if exists \`${table}\``);
    }
    for (const sql of LEFTOVER_TABLES_SQL) {
      await em.execute(sql);
    }
    await em.execute('delete from `member`');
    await em.execute('delete from `account`');
    await em.execute("insert into `member` (`id`, `name`) values ('m1', 'Mia')");
    await em.execute("insert into `account` (`id`) values ('a1')");
  };

  before(async () => {
    const tmp = tempDir('guard');
    cleanup = tmp.cleanup;
    tenancy = await SqliteTenancy.init<SqlEntityManager>({
      dbName: join(tmp.dir, 'shared.sqlite3'),
      entities: guardSharedEntities,
      allowGlobalContext: false,
      debug: ['query'],
      colors: false,
      logger: line => statements.push(line),
      tenancy: { dir: join(tmp.dir, 'tenants'), entities: guardTenantEntities, warn: warningCollector().warn },
    });
    await tenancy.sharedSchema.create();
    await restore();
    await tenancy.run('t1', async em => {
      em.create(Note, { text: 'tenant note' });
      em.create(Label, { name: 'tenant label' });
      await em.flush();
    });
    await tenancy.registry.flush();
    original = await snapshot();
    statements.length = 0;
  });

  after(async () => {
    await tenancy.close();
    cleanup();
  });

  beforeEach(() => {
    statements.length = 0;
  });

  const untouched = async () => {
    const sent = statements.filter(sql => TENANT_TABLE.test(sql));
    statements.length = 0;
    const now = await snapshot();
    if (now !== original) {
      await restore();
    }
    expect(sent, 'statements that reached per-tenant tables of the shared database').to.deep.equal([]);
    expect(JSON.parse(now), 'the shared database').to.deep.equal(JSON.parse(original));
  };

  sharedGuardCases({ tenancy: () => tenancy as never, untouched: () => untouched(), guardedMethods: GUARDED_METHODS });

  it('raw SQL through em.execute is the caller\'s own and runs', async () => {
    const rows = await tenancy.orm.em.fork().execute('select count(*) as n from `note`');
    expect(rows).to.deep.equal([{ n: 2 }]);
    // The statement log the checks above rely on sees what the shared connection runs.
    expect(statements.filter(sql => TENANT_TABLE.test(sql))).to.have.length(1);
    statements.length = 0;
  });

  it('shared entities and their shared columns still load', async () => {
    const em = tenancy.orm.em.fork();
    expect((await em.find(Member, {})).map(m => m.name)).to.deep.equal(['Mia']);
    expect(await em.count(Member, { name: 'Mia' })).to.equal(1);
    const qb = em.createQueryBuilder(Member, 'm').select('*').where({ name: 'Mia' });
    expect((await qb.getResultList()).map(m => m.id)).to.deep.equal(['m1']);
    expect(await em.createQueryBuilder(Member, 'm').where({ name: 'Mia' }).getCount()).to.equal(1);
    await untouched();
  });
});

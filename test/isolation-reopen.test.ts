import { expect } from 'chai';
import type { SqlEntityManager } from '@mikro-orm/knex';
import type { SqlTenancy } from './helpers.js';
import { Tag } from './fixtures/entities.js';
import { makeTenancy, tempDir } from './helpers.js';
import { columnThroughQueryBuilder } from './orm-packages.js';

/** Every way a tenant's EntityManager reads the tag table; each resolves the labels it sees, in id order. */
const READS: [string, (em: SqlEntityManager, tenancy: SqlTenancy, round: number) => Promise<string[]>][] = [
  ['em.find', em => em.find(Tag, {}, { orderBy: { id: 'asc' } }).then(rows => rows.map(t => t.label))],
  ['em.findOne', async em => [(await em.findOneOrFail(Tag, { id: { $gt: 0 } }, { orderBy: { id: 'desc' } })).label]],
  ['em.count', async em => [String(await em.count(Tag, {}))]],
  // The same explicit cache key in both tenants: a result cache shared across tenants would answer with the other's rows.
  ['em.find with the result cache', (em, _, round) => em.find(Tag, {}, { orderBy: { id: 'asc' }, cache: [`tags-${round}`, 60_000] }).then(rows => rows.map(t => t.label))],
  ['QueryBuilder getResultList', em => em.createQueryBuilder(Tag).select('*').orderBy({ id: 'asc' }).getResultList().then(rows => rows.map(t => t.label))],
  ['QueryBuilder execute', em => em.createQueryBuilder(Tag).select('label').orderBy({ id: 'asc' }).execute<{ label: string }[]>('all').then(rows => rows.map(r => r.label))],
  ['em.execute (raw SQL)', em => em.execute<{ label: string }[]>('select label from tag order by id').then(rows => rows.map(r => r.label))],
  ['connection.execute', em => em.getConnection().execute<{ label: string }[]>('select label from tag order by id').then(rows => rows.map(r => r.label))],
  // The query-builder library's own builder and transaction (knex on 6; kysely on 7, whose query compiler
  // and adapter every tenant shares).
  ['query-builder client', em => columnThroughQueryBuilder(em, 'tag', 'label', false)],
  ['query-builder client transaction', em => columnThroughQueryBuilder(em, 'tag', 'label', true)],
  ['em.transactional', em => em.transactional(t => t.find(Tag, {}, { orderBy: { id: 'asc' } })).then(rows => rows.map(t => t.label))],
  ['em.fork', em => em.fork().find(Tag, {}, { orderBy: { id: 'asc' } }).then(rows => rows.map(t => t.label))],
  ['tenancy.em', (_, tenancy) => tenancy.em.find(Tag, {}, { orderBy: { id: 'asc' } }).then(rows => rows.map(t => t.label))],
];

// A tenant's driver, connection, query-builder client and EntityManager reuse per-process objects (the
// knex client's prototype on 6, kysely's query compiler and adapter on 7, the configuration, the metadata): none of them may carry a tenant from one
// open to the next.
describe('isolation across opens: what tenants share in a process carries no tenant', () => {
  let tenancy: SqlTenancy;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir('mt-reopen');
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir, { maxOpen: 1 });
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('two tenants opened, evicted and reopened in alternation each see only their rows, on every query path', async () => {
    let opened = 0;
    tenancy.events.on('tenantOpened', () => { opened++; });
    const expected: Record<string, string[]> = { a: [], b: [] };
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      for (const id of ['a', 'b']) {
        await tenancy.run(id, async em => {
          const label = `${id}:${round}`;
          // Writes through the unit of work and through a native insert, in turn.
          if (round % 2) {
            await em.insert(Tag, { label });
          } else {
            em.create(Tag, { label });
            await em.flush();
          }
          expected[id]!.push(label);
          expect(em.getLoggerContext()).to.deep.include({ tenantId: id });
          for (const [name, read] of READS) {
            const seen = await read(em, tenancy, round);
            const want = name === 'em.count' ? [String(expected[id]!.length)] : name === 'em.findOne' ? [label] : expected[id]!;
            expect(seen, `${name} in tenant ${id}, round ${round}`).to.deep.equal(want);
          }
        });
      }
    }
    // maxOpen 1: every run() opened its tenant again (the other one was evicted in between).
    expect(opened).to.equal(2 * rounds);
  });
});

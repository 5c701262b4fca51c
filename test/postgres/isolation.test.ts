import { expect } from 'chai';
import { wrap } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { Note, Tag, User } from '../fixtures/entities.js';
import { tick } from '../helpers.js';
import { withPgTenancy } from './helpers.js';
import { columnThroughQueryBuilder } from '../orm-packages.js';

describe('postgres: isolation, tenants never see each other\'s rows', () => {
  // A pool of 2 connections: every connection serves many tenants in turn.
  const fixture = withPgTenancy({ maxOpen: 4 }, { pool: { min: 0, max: 2 } });

  it('keeps rows apart under interleaved async work (more tenants than maxOpen and than pooled connections)', async () => {
    const { tenancy } = fixture;
    const tenants = Array.from({ length: 12 }, (_, i) => `t${i}`);
    let mismatches = 0;
    const work = tenants.flatMap(id => Array.from({ length: 5 }, (_, round) => tenancy.run(id, async em => {
      await tick(Math.random() * 3);
      em.create(Tag, { label: `${id}:${round}` });
      await tick(Math.random() * 3);
      await em.flush();
      await tick(Math.random() * 3);
      const labels = (await tenancy.em.find(Tag, {})).map(t => t.label);
      mismatches += labels.filter(label => !label.startsWith(`${id}:`)).length;
      // Bare table names (raw SQL) resolve to this tenant too, whichever pooled connection runs them.
      const raw = await em.execute<{ label: string }[]>('select label from tag');
      mismatches += raw.filter(row => !row.label.startsWith(`${id}:`)).length;
    })));
    await Promise.all(work);
    expect(mismatches).to.equal(0);
    for (const id of tenants) {
      expect(await tenancy.run(id, em => em.count(Tag, {})), id).to.equal(5);
    }
    expect(tenancy.openTenants).to.be.at.most(4);
  });

  it('entities loaded in one tenant stay bound to that tenant inside another tenant\'s scope', async () => {
    const { tenancy } = fixture;
    await tenancy.run('a', async em => {
      em.create(Note, { text: 'only in a' });
      await em.flush();
    });
    const note = await tenancy.run('a', em => em.findOneOrFail(Note, { text: 'only in a' }));
    await tenancy.run('b', async () => {
      expect(await tenancy.em.find(Note, {})).to.have.length(0);
      const boundEm = wrap(note, true).__em!;
      note.text = 'edited from b scope';
      await boundEm.flush();
    });
    expect(await tenancy.run('a', em => em.count(Note, { text: 'edited from b scope' }))).to.equal(1);
    expect(await tenancy.run('b', em => em.count(Note, {}))).to.equal(0);
  });

  it('identity maps of two tenants hold distinct objects for the same primary key', async () => {
    const { tenancy } = fixture;
    await tenancy.run('a', async em => { em.create(Tag, { label: 'A' }); await em.flush(); });
    await tenancy.run('b', async em => { em.create(Tag, { label: 'B' }); await em.flush(); });
    const [a, b] = await Promise.all([
      tenancy.run('a', em => em.findOneOrFail(Tag, 1)),
      tenancy.run('b', em => em.findOneOrFail(Tag, 1)),
    ]);
    expect([a.label, b.label]).to.deep.equal(['A', 'B']);
  });

  it('raw SQL through the shared EntityManager never lands in a tenant schema, on a connection a tenant used just before', async () => {
    const { tenancy } = fixture;
    await tenancy.orm.em.fork().insert(User, { id: 'u1', name: 'Sue' });
    await tenancy.run('a', async em => {
      em.create(Tag, { label: 'tenant row' });
      await em.flush();
      expect(await em.execute('select count(*)::int as n from tag')).to.deep.equal([{ n: 1 }]);
    });
    // The pool has 2 connections; both have served tenant "a" by now or will serve the shared side next.
    for (let i = 0; i < 4; i++) {
      const error = await tenancy.orm.em.getConnection().execute('select count(*) from tag').then(() => undefined, (e: Error) => e);
      expect(error?.message, 'the shared side resolved "tag" in a tenant schema').to.match(/relation "tag" does not exist/);
      expect(await tenancy.orm.em.getConnection().execute('select name from "user"')).to.deep.equal([{ name: 'Sue' }]);
    }
  });

  it('a tenant reads and writes shared entities in the shared schema, in its own transaction', async () => {
    const { tenancy } = fixture;
    await tenancy.orm.em.fork().insert(User, { id: 'u1', name: 'Sue' });
    await tenancy.run('a', async em => {
      await em.transactional(async trx => {
        const user = await trx.findOneOrFail(User, 'u1');
        user.name = 'Sue Ann';
        trx.create(Note, { text: 'by Sue', author: user });
      });
      const notes = await em.fork().find(Note, {}, { populate: ['author'] });
      expect(notes.map(n => `${n.author?.name}: ${n.text}`)).to.deep.equal(['Sue Ann: by Sue']);
    });
    expect((await tenancy.orm.em.fork().findOneOrFail(User, 'u1')).name).to.equal('Sue Ann');
  });
});

describe('postgres: search_path on a single pooled connection shared by every tenant', () => {
  const fixture = withPgTenancy({}, { pool: { min: 0, max: 1 } });

  it('a rolled-back or failed transaction (its BEGIN carried the tenant\'s search_path) leaves the connection right for whoever is next', async () => {
    const { tenancy } = fixture;
    await tenancy.run('a', async em => { em.create(Tag, { label: 'in a' }); await em.flush(); });
    await tenancy.run('b', async em => { em.create(Tag, { label: 'in b' }); await em.flush(); });
    for (let round = 0; round < 3; round++) {
      for (const id of ['a', 'b']) {
        const rolledBack = await tenancy.run(id, em => em.transactional(async trx => {
          await trx.execute('select label from tag');
          throw new Error('roll back');
        })).then(() => undefined, (error: Error) => error.message);
        expect(rolledBack).to.equal('roll back');
        expect(await tenancy.run(id, em => em.execute('select label from tag')), `${id} after a rollback`).to.deep.equal([{ label: `in ${id}` }]);
        const failed = await tenancy.run(id, em => em.transactional(trx => trx.execute('select * from no_such_table')))
          .then(() => undefined, (error: Error) => error.message);
        expect(failed).to.match(/no_such_table/);
        expect(await tenancy.run(id, em => em.execute('select label from tag')), id).to.deep.equal([{ label: `in ${id}` }]);
        const shared = await tenancy.orm.em.getConnection().execute('select count(*) from tag').then(() => 'found', (e: Error) => e.message);
        expect(shared).to.match(/relation "tag" does not exist/);
      }
    }
  });
});

describe('postgres: search_path sent with a tenant\'s statement, one pooled connection, tenants evicted and reopened', () => {
  const fixture = withPgTenancy({ maxOpen: 1 }, { pool: { min: 0, max: 1 } });

  /** Every way a tenant reads its tags; the raw ones name the bare table, so they read whatever search_path says. */
  const reads: [string, (em: SqlEntityManager) => Promise<string[]>][] = [
    ['em.find', em => em.find(Tag, {}, { orderBy: { id: 'asc' } }).then(rows => rows.map(t => t.label))],
    ['em.execute', em => em.execute<{ label: string }[]>('select label from tag order by id').then(rows => rows.map(r => r.label))],
    ['em.execute with a parameter', em => em.execute<{ label: string }[]>('select label from tag where label <> ? order by id', ['none']).then(rows => rows.map(r => r.label))],
    ['delete ... returning', async em => (await em.execute<{ label: string }[]>('delete from tag where label = \'gone\' returning label')).concat(await em.execute<{ label: string }[]>('select label from tag order by id')).map(r => r.label)],
    ['em.transactional', em => em.transactional(t => t.execute<{ label: string }[]>('select label from tag order by id')).then(rows => rows.map(r => r.label))],
    ['query-builder client', em => columnThroughQueryBuilder(em, 'tag', 'label', false)],
    ['query-builder client transaction', em => columnThroughQueryBuilder(em, 'tag', 'label', true)],
  ];

  it('each tenant sees only its rows on every path, also right after a statement that failed in the round trip carrying its search_path', async () => {
    const { tenancy } = fixture;
    for (const id of ['a', 'b']) {
      await tenancy.run(id, async em => { em.create(Tag, { label: `in ${id}` }); await em.flush(); });
    }
    for (let round = 0; round < 2; round++) {
      for (const [name, read] of reads) {
        for (const id of ['a', 'b']) {
          // The first statement after the other tenant's carries the search_path, and fails: the set goes with it.
          const failed = await tenancy.run(id, em => em.execute('select 1 / (count(*) - count(*)) from tag')).then(() => undefined, (error: { code?: string }) => error.code);
          expect(failed, `${name}, ${id}: division by zero`).to.equal('22012');
          expect(await tenancy.run(id, em => read(em as SqlEntityManager)), `${name} in tenant ${id}, round ${round}`).to.deep.equal([`in ${id}`]);
          expect(await tenancy.run(id, em => read(em as SqlEntityManager)), `${name} again in tenant ${id}`).to.deep.equal([`in ${id}`]);
          const shared = await tenancy.orm.em.getConnection().execute('select count(*) from tag').then(() => 'found', (e: Error) => e.message);
          expect(shared, 'the shared ORM').to.match(/relation "tag" does not exist/);
        }
      }
    }
  });
});

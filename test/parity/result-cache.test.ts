import { expect } from 'chai';
import { defineEntity, p } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { forBoth } from './fixture.js';

function model() {
  return {
    Note: defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary().autoincrement(), text: p.string() },
    }),
  };
}

type Model = ReturnType<typeof model>;

async function seed(em: SqlEntityManager, { Note }: Model, texts: string[]): Promise<void> {
  for (const text of texts) {
    em.create(Note, { text });
  }
  await em.flush();
  em.clear();
}

const texts = (rows: { text: string }[]) => rows.map(r => r.text).sort();

// MikroORM's cache keys name the entity, method, options and condition, never the database: two
// databases behind one cache adapter must still never answer each other's queries.
forBoth('result cache: find, count and findOne are cached per database', { model }, async ({ em, model, inOther }) => {
  const { Note } = model;
  await seed(em, model, ['mine 1', 'mine 2']);
  expect(texts(await em.find(Note, {}, { cache: 60_000 }))).to.deep.equal(['mine 1', 'mine 2']);
  expect(await em.count(Note, {}, { cache: 60_000 })).to.equal(2);
  expect((await em.findOne(Note, { text: 'mine 1' }, { cache: 60_000 }))?.text).to.equal('mine 1');

  await inOther(async other => {
    await seed(other, model, ['theirs']);
    expect(texts(await other.find(Note, {}, { cache: 60_000 }))).to.deep.equal(['theirs']);
    expect(await other.count(Note, {}, { cache: 60_000 })).to.equal(1);
    expect(await other.findOne(Note, { text: 'mine 1' }, { cache: 60_000 })).to.equal(null);
  });

  // Cached results stay cached (MikroORM's documented behaviour): a new row is not seen until expiry.
  await seed(em, model, ['mine 3']);
  expect(texts(await em.fork().find(Note, {}, { cache: 60_000 }))).to.deep.equal(['mine 1', 'mine 2']);
  expect(await em.fork().count(Note, {}, { cache: 60_000 })).to.equal(2);
});

forBoth('result cache: explicit keys and clearCache()', { model }, async ({ em, model, inOther }) => {
  const { Note } = model;
  await seed(em, model, ['mine']);
  expect(texts(await em.find(Note, {}, { cache: ['notes', 60_000] }))).to.deep.equal(['mine']);
  await inOther(async other => {
    await seed(other, model, ['theirs']);
    expect(texts(await other.find(Note, {}, { cache: ['notes', 60_000] }))).to.deep.equal(['theirs']);
    await other.clearCache('notes');
  });
  // Clearing the key in the other database leaves this one's entry.
  await seed(em, model, ['mine later']);
  expect(texts(await em.fork().find(Note, {}, { cache: ['notes', 60_000] }))).to.deep.equal(['mine']);
  await em.clearCache('notes');
  expect(texts(await em.fork().find(Note, {}, { cache: ['notes', 60_000] }))).to.deep.equal(['mine', 'mine later']);
});

forBoth('result cache: resultCache.global caches every query, per database', {
  model,
  options: () => ({ resultCache: { global: 60_000 } }),
}, async ({ em, model, inOther }) => {
  const { Note } = model;
  await seed(em, model, ['mine']);
  expect(texts(await em.find(Note, {}))).to.deep.equal(['mine']);
  expect(await em.count(Note, {})).to.equal(1);
  await inOther(async other => {
    await seed(other, model, ['theirs 1', 'theirs 2']);
    expect(texts(await other.find(Note, {}))).to.deep.equal(['theirs 1', 'theirs 2']);
    expect(await other.count(Note, {})).to.equal(2);
  });
});

forBoth('result cache: a flush after cached reads writes to the database that was read', { model }, async ({ em, model, inOther }) => {
  const { Note } = model;
  await seed(em, model, ['mine']);
  const [mine] = await em.find(Note, {}, { cache: 60_000 });
  mine!.text = 'mine, edited';
  await em.flush();

  await inOther(async other => {
    await seed(other, model, ['theirs']);
    const rows = await other.find(Note, {}, { cache: 60_000 });
    expect(texts(rows)).to.deep.equal(['theirs']);
    rows[0]!.text = 'theirs, edited';
    await other.flush();
    expect(texts(await other.fork().find(Note, {}))).to.deep.equal(['theirs, edited']);
  });
  expect(texts(await em.fork().find(Note, {}))).to.deep.equal(['mine, edited']);
});

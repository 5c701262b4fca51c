import { expect } from 'chai';
import { RequestContext, defineEntity, p } from '@mikro-orm/core';
import { forBoth } from './fixture.js';

function model() {
  return { Note: defineEntity({ name: 'Note', properties: { id: p.integer().primary().autoincrement(), text: p.string() } }) };
}

// MikroORM's request-context helpers: `RequestContext.create(em, fn)` gives `fn` a fork of `em` that the
// context-resolving EntityManager uses; `em.fork()` gives an own identity map on the same database.
forBoth('request context helpers: RequestContext.create and em.fork', { model }, async ({ em, globalEm, model: { Note } }) => {
  const created = em.create(Note, { text: 'a' });
  await em.flush();

  let first: unknown;
  await RequestContext.create(globalEm, async () => {
    const requestEm = RequestContext.getEntityManager(globalEm.name);
    expect(requestEm).to.not.equal(undefined);
    const one = await globalEm.findOneOrFail(Note, { text: 'a' });
    expect(await globalEm.findOneOrFail(Note, created.id)).to.equal(one);
    expect(requestEm!.getUnitOfWork().getById(Note.meta.className, created.id)).to.equal(one);
    expect(one).to.not.equal(created);
    first = one;
  });
  await RequestContext.create(globalEm, async () => {
    expect(await globalEm.findOneOrFail(Note, created.id)).to.not.equal(first);
  });

  // RequestContext.create(em) with an explicit fork: looked up by that EntityManager's context name.
  await RequestContext.create(em, async () => {
    const requestEm = RequestContext.getEntityManager(em.name)!;
    expect(requestEm).to.not.equal(em);
    expect((await requestEm.findOneOrFail(Note, created.id)).text).to.equal('a');
  });

  const fork = em.fork();
  expect(await fork.findOneOrFail(Note, created.id)).to.not.equal(created);
  expect(fork.getDriver()).to.equal(em.getDriver());
  const kept = em.fork({ clear: false });
  expect(await kept.findOneOrFail(Note, created.id)).to.equal(created);
});

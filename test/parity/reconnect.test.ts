import { expect } from 'chai';
import { defineEntity, p } from '@mikro-orm/core';
import { forBoth } from './fixture.js';

function model() {
  return { Note: defineEntity({ name: 'Note', properties: { id: p.integer().primary().autoincrement(), text: p.string() } }) };
}

// What MikroORM's schema tools do when they switch databases (`driver.reconnect()`), and what apps do after
// a connection problem: the EntityManager and its forks work again on the same database.
forBoth('reconnect: the driver closes and connects again', { model }, async ({ em, model: { Note } }) => {
  em.create(Note, { text: 'before' });
  await em.flush();
  await em.getDriver().reconnect();
  expect(await em.getConnection().isConnected()).to.equal(true);
  expect((await em.fork().find(Note, {})).map(n => n.text)).to.deep.equal(['before']);

  await em.getDriver().close();
  expect(await em.getConnection().isConnected()).to.equal(false);
  await em.getDriver().connect();
  em.create(Note, { text: 'after' });
  await em.flush();
  expect(await em.fork().count(Note, {})).to.equal(2);
});

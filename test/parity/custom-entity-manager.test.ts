import { expect } from 'chai';
import { defineEntity, p } from '@mikro-orm/core';
import { sqlPackage } from '../orm-packages.js';
import { forBoth } from './fixture.js';

// Subclasses of the installed major's classes (`@mikro-orm/knex` on 6, `@mikro-orm/sql` on 7).
const { SqlEntityManager: BaseEntityManager, SqlEntityRepository: BaseRepository } = sqlPackage();

class AppEntityManager extends BaseEntityManager {
  /** A helper an app adds to its EntityManager. */
  async countAll(entityName: string): Promise<number> {
    return this.count(entityName, {});
  }
}

class AppRepository<T extends object> extends BaseRepository<T> {
  /** A helper an app adds to every repository. */
  async texts(): Promise<string[]> {
    return (await this.findAll({ orderBy: { id: 'asc' } as never })).map(e => (e as unknown as { text: string }).text);
  }
}

function model() {
  return {
    Note: defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary().autoincrement(), text: p.string() },
    }),
  };
}

// MikroORM's `entityManager` and `entityRepository` options: every EntityManager (forks, transactions and
// the context-resolving one included) is an instance of the app's class.
forBoth('custom EntityManager and repository classes', {
  model,
  options: () => ({ entityManager: AppEntityManager, entityRepository: AppRepository }),
}, async ({ em, globalEm, model: { Note } }) => {
  expect(em).to.be.instanceOf(AppEntityManager);
  expect(em.fork()).to.be.instanceOf(AppEntityManager);
  expect(globalEm).to.be.instanceOf(AppEntityManager);
  em.create(Note, { text: 'a' });
  em.create(Note, { text: 'b' });
  await em.flush();
  expect(await (em as AppEntityManager).countAll('Note')).to.equal(2);
  expect(await (globalEm as AppEntityManager).countAll('Note')).to.equal(2);
  await em.transactional(async trx => {
    expect(trx).to.be.instanceOf(AppEntityManager);
    expect(await (trx as AppEntityManager).countAll('Note')).to.equal(2);
  });
  const repository = em.getRepository(Note);
  expect(repository).to.be.instanceOf(AppRepository);
  expect(await (repository as unknown as AppRepository<object>).texts()).to.deep.equal(['a', 'b']);
});

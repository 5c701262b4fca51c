import { expect } from 'chai';
import { Note } from '../fixtures/entities.js';
import { createSharedSchema, makeTenancy, tempDir, type SqlTenancy } from '../helpers.js';
import { createTestDatabase, makePgTenancy, type PgTenancy, type TestDatabase } from './helpers.js';

// MikroORM finds context EntityManagers by name, whichever ORM made them: a SQLite tenancy and a PostgreSQL
// one in the same process, both with the default contextName, must never name a tenant's EntityManager alike.
describe('context names across strategies in one process', () => {
  let sqlite: SqlTenancy;
  let pg: PgTenancy;
  let db: TestDatabase;
  let cleanup: () => void;

  beforeEach(async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    sqlite = await makeTenancy(tmp.dir);
    await createSharedSchema(sqlite);
    db = await createTestDatabase('ctxnames');
    pg = await makePgTenancy(db);
  });

  afterEach(async () => {
    await sqlite.close();
    await pg.close();
    await db.drop();
    cleanup();
  });

  it('gives the same tenant id different context names, and each tenancy its own database', async () => {
    expect((await sqlite.fork('acme')).name).to.not.equal((await pg.fork('acme')).name);
    await sqlite.run('acme', async em => { em.create(Note, { text: 'in sqlite' }); await em.flush(); });
    await pg.run('acme', async em => {
      em.create(Note, { text: 'in postgres 1' });
      em.create(Note, { text: 'in postgres 2' });
      await em.flush();
    });
    expect((await sqlite.run('acme', () => sqlite.em.find(Note, {}))).map(n => n.text)).to.deep.equal(['in sqlite']);
    expect((await pg.run('acme', () => pg.em.find(Note, {}))).map(n => n.text).sort()).to.deep.equal(['in postgres 1', 'in postgres 2']);
  });
});

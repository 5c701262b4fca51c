import { expect } from 'chai';
import { Tag } from './fixtures/entities.js';
import { makeTenancy, tempDir } from './helpers.js';

/** Resolves `work`, or rejects when it has not settled within `ms` (a connection that stays taken). */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref())]);
}

// SQLite ends a transaction itself on some errors (a full disk, an I/O error, RAISE(ROLLBACK) in a trigger),
// before the ORM's ROLLBACK, which then finds no transaction: the tenant's one connection must not stay taken.
describe('a tenant transaction that SQLite rolled back itself', () => {
  it('fails with SQLite\'s error, and the tenant keeps serving (its connection is released)', async () => {
    const { dir, cleanup } = tempDir('mt-sqlite-rollback');
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('t', async em => {
        await em.getConnection().execute("create trigger refuse_boom before insert on tag when new.label = 'boom' begin select raise(rollback, 'boom refused'); end");
        em.create(Tag, { label: 'kept' });
        await em.flush();
      });
      let code: string | undefined;
      try {
        await tenancy.run('t', em => em.transactional(async trx => {
          trx.create(Tag, { label: 'fine' });
          await trx.flush();
          trx.create(Tag, { label: 'boom' });
        }));
      } catch (error) {
        code = (error as { code?: string }).code;
      }
      expect(code).to.match(/^SQLITE_CONSTRAINT/);
      expect(await within(5_000, tenancy.run('t', async em => (await em.find(Tag, {})).map(t => t.label)))).to.deep.equal(['kept']);
    } finally {
      await within(5_000, tenancy.close());
      cleanup();
    }
  });
});

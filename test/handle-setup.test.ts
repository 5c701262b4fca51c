import { expect } from 'chai';
import { makeTenancy, tempDir } from './helpers.js';

describe('tenant handle set-up (pragmas run as one script, then ATTACH)', () => {
  it('applies overrides and null removals on every new handle, re-opens after eviction included, and attaches the shared database', async () => {
    const { dir, cleanup } = tempDir();
    const tenancy = await makeTenancy(dir, { maxOpen: 1, pragmas: { busy_timeout: 250, foreign_keys: false, cache_size: null } });
    try {
      const read = (id: string) => tenancy.run(id, async em => {
        const conn = em.getConnection();
        const get = async (name: string) => Object.values((await conn.execute(`pragma ${name}`, [], 'get')) as object)[0];
        const databases = (await conn.execute('pragma database_list')) as { name: string }[];
        return {
          values: [await get('journal_mode'), await get('synchronous'), await get('busy_timeout'), await get('foreign_keys')],
          cacheSize: await get('cache_size'),
          databases: databases.map(d => d.name),
        };
      });
      // maxOpen 1: b evicts a, and a's second request gets a new handle.
      for (const id of ['a', 'b', 'a']) {
        const seen = await read(id);
        expect(seen.values).to.deep.equal(['wal', 1, 250, 0]);
        // null drops the -2000 default: the handle keeps better-sqlite3's own cache size.
        expect(seen.cacheSize).to.not.equal(-2000);
        expect(seen.databases).to.deep.equal(['main', 'shared']);
      }
      expect(tenancy.stats().opened).to.equal(3);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

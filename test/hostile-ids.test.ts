import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { HOSTILE_IDS } from '../packages/core/test/hostile-ids.js';
import { makeTenancy, tempDir } from './helpers.js';

/** Every file under `dir`, but the spare copies of the template (made in the background after any provisioning). */
function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  }).filter(path => !path.includes('/.mikro-tenant/spares/'));
}

describe('hostile tenant ids through the API', () => {
  let tenancy: SqliteTenancy;
  let root: string;
  let cleanup: () => void;

  before(async () => {
    const tmp = tempDir();
    root = tmp.dir;
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir);
    await tenancy.run('baseline', async () => undefined);
  });

  after(async () => {
    await tenancy.close();
    cleanup();
  });

  const entryPoints: [string, (t: SqliteTenancy, id: never) => Promise<unknown>][] = [
    ['run', (t, id) => t.run(id, async () => undefined)],
    ['fork', (t, id) => t.fork(id)],
    ['createTenant', (t, id) => t.createTenant(id)],
    ['deleteTenant', (t, id) => t.deleteTenant(id)],
    ['tenantExists', (t, id) => t.tenantExists(id)],
    ['migrateTenant', (t, id) => t.migrateTenant(id)],
  ];

  for (const [name, call] of entryPoints) {
    it(`${name} rejects all ${HOSTILE_IDS.length} hostile ids with ERR_INVALID_TENANT_ID and writes nothing`, async () => {
      const before = listFiles(root).sort();
      for (const id of HOSTILE_IDS) {
        let code: string | undefined;
        try {
          await call(tenancy, id as never);
        } catch (error) {
          code = (error as { code?: string }).code;
        }
        expect(code, `${name}(${typeof id === 'symbol' ? 'symbol' : JSON.stringify(id)})`).to.equal('ERR_INVALID_TENANT_ID');
      }
      const after = listFiles(root).sort();
      expect(after.map(f => relative(root, f))).to.deep.equal(before.map(f => relative(root, f)));
    });
  }

  it('maps ids that differ only in punctuation to distinct files', async () => {
    for (const id of ['a-b', 'a_b', 'ab']) {
      await tenancy.run(id, async () => undefined);
    }
    const files = new Set(['a-b', 'a_b', 'ab'].map(id => tenancy.files.path(id)));
    expect(files.size).to.equal(3);
    for (const file of files) {
      expect(file.startsWith(tenancy.files.dir)).to.equal(true);
    }
  });
});

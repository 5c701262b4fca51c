import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Tag } from './fixtures/entities.js';
import { makeTenancy, tempDir } from './helpers.js';

const umask = process.umask();

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** `path relative to dir: mode` of everything under dir (folders included). */
function modesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map(name => `${name}: ${modeOf(join(dir, name))}`);
}

/** Waits (up to 5 s) for the spare copies of the template the tenancy makes in the background. */
async function sparesMade(sparesDir: string): Promise<void> {
  for (let waited = 0; waited < 5000 && !(existsSync(sparesDir) && readdirSync(sparesDir).length > 0); waited += 5) {
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter(item => !test(item))];
}

function expected(mode: number): string {
  return (mode & ~umask).toString(8);
}

// On a shared host every local user could read every tenant's data: folders were created 0755 and files 0644.
describe('file and folder permissions', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });

  afterEach(() => cleanup());

  it('creates its folders 0700 and every database file 0600 (tenants, -wal/-shm, templates, files built without a template)', async () => {
    const tenancy = await makeTenancy(dir, { dir: join(dir, 'data', 'tenants') } as never);
    const untemplated = await makeTenancy(join(dir, 'b'), { template: false });
    try {
      for (const t of [tenancy, untemplated]) {
        await t.run('acme', async em => {
          em.create(Tag, { label: 'private' });
          await em.flush();
        });
        await t.createTenant('beta');
      }
      const folder = expected(0o700);
      const file = expected(0o600);
      expect(modeOf(join(dir, 'data'))).to.equal(folder);
      await sparesMade(tenancy.files.sparesDir);
      // Spare copies of the template (made in the background, so however many are there now).
      const [spares, rest] = partition(modesUnder(join(dir, 'data', 'tenants')), entry => entry.startsWith('.mikro-tenant/spares'));
      expect(spares.length).to.be.greaterThan(0);
      expect(spares).to.deep.equal(spares.map(entry => (entry.startsWith('.mikro-tenant/spares:') ? `.mikro-tenant/spares: ${folder}` : `${entry.split(':')[0]}: ${file}`)));
      expect(rest).to.deep.equal([
        `.mikro-tenant: ${folder}`,
        `.mikro-tenant/template-${tenancy.schema.key}.sqlite3: ${file}`,
        `.mikro-tenant/tmp: ${folder}`,
        `tenant_acme.sqlite3: ${file}`, `tenant_acme.sqlite3-shm: ${file}`, `tenant_acme.sqlite3-wal: ${file}`,
        `tenant_beta.sqlite3: ${file}`,
      ]);
      expect(modesUnder(join(dir, 'b', 'tenants'))).to.deep.equal([
        `.mikro-tenant: ${folder}`,
        `.mikro-tenant/tmp: ${folder}`,
        `tenant_acme.sqlite3: ${file}`, `tenant_acme.sqlite3-shm: ${file}`, `tenant_acme.sqlite3-wal: ${file}`,
        `tenant_beta.sqlite3: ${file}`,
      ]);
    } finally {
      await tenancy.close();
      await untemplated.close();
    }
  });

  it('never changes the mode of a folder that exists (no loosening, no tightening behind the owner\'s back)', async () => {
    const tenants = join(dir, 'tenants');
    mkdirSync(tenants);
    chmodSync(tenants, 0o755);
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('acme', async () => undefined);
      expect(modeOf(tenants)).to.equal('755');
      expect(modeOf(tenancy.files.path('acme'))).to.equal(expected(0o600));
    } finally {
      await tenancy.close();
    }
  });

  it('uses dirMode and fileMode when given', async () => {
    const tenancy = await makeTenancy(dir, { dirMode: 0o750, fileMode: 0o640 });
    try {
      await tenancy.run('acme', async em => {
        em.create(Tag, { label: 'x' });
        await em.flush();
      });
      expect(modeOf(join(dir, 'tenants'))).to.equal(expected(0o750));
      expect(modeOf(tenancy.files.internalDir)).to.equal(expected(0o750));
      expect(modeOf(tenancy.files.path('acme'))).to.equal(expected(0o640));
      expect(modeOf(`${tenancy.files.path('acme')}-wal`)).to.equal(expected(0o640));
      await sparesMade(tenancy.files.sparesDir);
      await tenancy.createTenant('from-spare');
      expect(modeOf(tenancy.files.path('from-spare'))).to.equal(expected(0o640));
      expect(modeOf(tenancy.files.sparesDir)).to.equal(expected(0o750));
      for (const spare of readdirSync(tenancy.files.sparesDir)) {
        expect(modeOf(join(tenancy.files.sparesDir, spare)), spare).to.equal(expected(0o640));
      }
    } finally {
      await tenancy.close();
    }
  });
});

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import { runCli, type CliIo } from '@mikro-tenant/cli';
import { fromHeader, tenantAdmin, tenantMiddleware } from '@mikro-tenant/koa';
import { HOSTILE_IDS } from '../../packages/core/test/hostile-ids.js';
import { makeTenancy, tempDir } from '../helpers.js';
import { report } from './support.js';
import { writeFileSync } from 'node:fs';

/** Every file under `dir`, but the spare copies of the template (made in the background after any provisioning). */
function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allFiles(path) : [path];
  }).filter(path => !path.includes('/.mikro-tenant/spares/'));
}

const STRINGS = HOSTILE_IDS.filter((id): id is string => typeof id === 'string');
/** What an HTTP header can carry (no control characters, Latin-1 only). */
const HEADER_SAFE = STRINGS.filter(id => id.trim() === id && id !== '' && /^[\x20-\x7e\x80-\xff]*$/.test(id));

describe('reliability: hostile ids through every entry point', function () {
  this.timeout(60_000);

  it('API, Koa header resolver, admin switch route and CLI reject them all and create no file anywhere', async () => {
    const { dir, cleanup } = tempDir('mt-hostile');
    const tenancy = await makeTenancy(dir);
    try {
      await tenancy.run('seed', async () => undefined);
      const before = allFiles(dir).map(f => relative(dir, f)).sort();
      let rejected = 0;
      let accepted = 0;

      for (const id of HOSTILE_IDS) {
        try {
          await tenancy.run(id as string, async () => undefined);
          accepted++;
        } catch (error) {
          // Any other failure is not the refusal this test is about: count it against the API.
          if ((error as { code?: string }).code === 'ERR_INVALID_TENANT_ID') { rejected++; } else { accepted++; }
        }
      }

      const app = new Koa();
      const adminSwitch = { isSuperuser: () => true, get: () => undefined, set: () => undefined };
      app.use(tenantAdmin(tenancy, adminSwitch));
      app.use(tenantMiddleware(tenancy, { resolve: fromHeader() }));
      app.use(ctx => { ctx.body = 'reached'; });
      const server = app.callback();
      for (const id of HEADER_SAFE) {
        const res = await request(server).get('/').set('X-Tenant-ID', id);
        if (res.status === 400 && res.body.error.code === 'ERR_INVALID_TENANT_ID') { rejected++; } else { accepted++; }
      }
      for (const id of STRINGS.filter(s => s !== '')) {
        const res = await request(server).post(`/admin/tenants/${encodeURIComponent(id)}/switch`);
        if (res.status === 400 && res.body.error.code === 'ERR_INVALID_TENANT_ID') { rejected++; } else { accepted++; }
      }

      const configPath = join(dir, 'mikro-tenant.config.ts');
      const fixtures = new URL('../fixtures/', import.meta.url).pathname;
      writeFileSync(configPath, `import { Note, Tag, User } from ${JSON.stringify(`${fixtures}entities.ts`)};
export default { dbName: ${JSON.stringify(join(dir, 'shared.sqlite3'))}, entities: [User], tenancy: { dir: ${JSON.stringify(join(dir, 'tenants'))}, entities: [Note, Tag], warn: () => undefined } };`);
      const io: CliIo & { stderr: string } = { stderr: '', interactive: false, out: () => undefined, err(t) { io.stderr += t; }, confirm: async () => false };
      for (const id of STRINGS.filter(s => s !== '' && !s.startsWith('-'))) {
        io.stderr = '';
        const code = await runCli(['create', id], io, dir);
        if (code !== 0 && io.stderr.includes('ERR_INVALID_TENANT_ID')) { rejected++; } else { accepted++; }
      }
      const after = allFiles(dir).map(f => relative(dir, f)).filter(f => f !== 'mikro-tenant.config.ts').sort();
      const created = after.filter(f => !before.includes(f));
      report('hostile ids', { corpus: HOSTILE_IDS.length, attempts: rejected + accepted, rejected, accepted, filesCreated: created.length });
      expect(accepted).to.equal(0);
      expect(created).to.deep.equal([]);
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import { tempDir } from '../../../../test/helpers.js';
import { PACKAGE_ENTRY, bufferIo, fixtureTenancy, runBin, writeMjsConfig, writeTsConfig } from './helpers.js';

describe('mikro-tenant bin (real processes)', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-bin'));
  });

  afterEach(() => cleanup());

  it('with a JavaScript config and plain node: migrates in worker threads, refuses delete without a terminal, exec runs as the tenant', async () => {
    writeMjsConfig(dir, 1);
    for (const id of ['a', 'b', 'c']) {
      expect(await runCli(['create', id], bufferIo(), dir)).to.equal(0);
    }
    writeMjsConfig(dir, 2);
    const migrated = await runBin(['migrate', '--concurrency', '2', '--json'], { cwd: dir });
    expect(migrated.code, migrated.stderr).to.equal(0);
    const summary = JSON.parse(migrated.stdout) as { workers: number; failed: unknown[]; migrated: { tenantId: string; executed: string[] }[] };
    expect(summary).to.deep.include({ workers: 2, failed: [] });
    expect(summary.migrated.map(m => `${m.tenantId}:${m.executed.join()}`).sort()).to.deep.equal(['a:M002', 'b:M002', 'c:M002']);

    const refused = await runBin(['delete', 'a'], { cwd: dir });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/^mikro-tenant: [^\n]+ \(ERR_CONFIRMATION_REQUIRED\)\n$/);

    const script = join(dir, 'count-items.mjs');
    writeFileSync(script, `import { SqliteTenancy, runAsCliTenant } from ${JSON.stringify(pathToFileURL(PACKAGE_ENTRY).href)};
import makeConfig, { Item } from ${JSON.stringify(pathToFileURL(join(dir, 'mikro-tenant.config.mjs')).href)};
const tenancy = await SqliteTenancy.init(await makeConfig());
const count = await runAsCliTenant(tenancy, async em => { em.create(Item, { label: process.argv[2] }); await em.flush(); return em.count(Item); });
await tenancy.close();
console.log('tenant=' + process.env.MIKRO_TENANT_ID + ' items=' + count);
process.exit(3);
`);
    const exec = await runBin(['exec', 'b', '--', process.execPath, script, 'hello'], { cwd: dir });
    expect(exec.stderr).to.equal('');
    expect(exec.stdout).to.equal('tenant=b items=1\n');
    expect(exec.code, 'the command\'s exit code').to.equal(3);
    const unknown = bufferIo();
    expect(await runCli(['exec', 'nobody', '--', process.execPath, script], unknown, dir)).to.equal(1);
    expect(unknown.stderr).to.equal('mikro-tenant: tenant "nobody" does not exist (ERR_TENANT_NOT_FOUND)\n');
  });

  it('with a TypeScript config: one clear line without tsx (where Node does not strip types itself); with NODE_OPTIONS="--import tsx" its worker threads load it too', async () => {
    const setup = await fixtureTenancy(dir);
    await setup.createTenant('t1');
    await setup.createTenant('t2');
    await setup.close();
    writeTsConfig(dir, 'twoMigrations', 'custom.config.ts');

    const plain = await runBin(['--config', join(dir, 'custom.config.ts'), 'list']);
    if ((process.features as { typescript?: unknown }).typescript) {
      // Node 22.18+ strips the types of .ts files itself: no tsx needed.
      expect(plain.code, plain.stderr).to.equal(0);
    } else {
      expect(plain.code).to.equal(1);
      expect(plain.stderr).to.match(/^mikro-tenant: cannot load .*custom\.config\.ts: TypeScript configs need tsx; run with NODE_OPTIONS="--import tsx" .*\(ERR_CONFIG_NEEDS_TSX\)\n$/);
    }

    // cwd: the repository, where tsx is installed (as in an app's folder).
    const withTsx = await runBin(['--config', join(dir, 'custom.config.ts'), 'migrate', '-n', '2', '--json'], { env: { NODE_OPTIONS: '--import tsx' } });
    expect(withTsx.code, withTsx.stderr).to.equal(0);
    expect(JSON.parse(withTsx.stdout)).to.deep.include({ workers: 2, failed: [] });
  });
});

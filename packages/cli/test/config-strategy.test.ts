import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import { tempDir } from '../../../test/helpers.js';
import { bufferIo } from './sqlite/helpers.js';

describe('mikro-tenant config: the strategy it names', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-strategy'));
  });

  afterEach(() => cleanup());

  it('an unknown strategy, a package that is not installed or is no strategy: one line, ERR_CONFIG_UNREADABLE, nothing created', async () => {
    for (const [strategy, says] of [
      ['pg-shema', 'did you mean "pg-schema"?'],
      ['mongo', 'strategy must be one of "sqlite", "pg-schema", "postgresql"'],
      [42, 'not 42'],
      ['@mikro-tenant/no-such-strategy', 'npm install @mikro-tenant/no-such-strategy'],
      ['@mikro-tenant/koa', 'exports no tenancyCli'],
    ] as const) {
      writeFileSync(join(dir, 'mikro-tenant.config.mjs'), `export default { strategy: ${JSON.stringify(strategy)}, dbName: 'x.sqlite3', tenancy: { dir: 'tenants', entities: [] } };\n`);
      const io = bufferIo();
      expect(await runCli(['list'], io, dir), String(strategy)).to.equal(1);
      expect(io.stderr).to.match(/^mikro-tenant: [^\n]+ \(ERR_CONFIG_UNREADABLE\)\n$/);
      expect(io.stderr).to.include(says);
    }
    expect(readdirSync(dir)).to.deep.equal(['mikro-tenant.config.mjs']);
  });
});

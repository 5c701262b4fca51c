import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import { tempDir } from '../../../../test/helpers.js';
import { bufferIo, fixtureTenancy, writeTsConfig } from './helpers.js';

/** One line on stderr, `mikro-tenant: <message> (<code>)`, nothing on stdout. */
function expectOneLine(io: { stdout: string; stderr: string }, code: string): void {
  expect(io.stderr).to.match(new RegExp(`^mikro-tenant: [^\\n]+ \\(${code}\\)\\n$`));
  expect(io.stdout).to.equal('');
}

describe('mikro-tenant bad input', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-bad'));
  });

  afterEach(() => cleanup());

  it('a missing or unusable config: one line, exit 1, nothing created', async () => {
    const missing = bufferIo();
    expect(await runCli(['list'], missing, dir)).to.equal(1);
    expectOneLine(missing, 'ERR_CONFIG_NOT_FOUND');
    const explicit = bufferIo();
    expect(await runCli(['--config', 'nope.mjs', 'list'], explicit, dir)).to.equal(1);
    expectOneLine(explicit, 'ERR_CONFIG_NOT_FOUND');
    expect(explicit.stderr).to.include(join(dir, 'nope.mjs'));

    writeFileSync(join(dir, 'empty.mjs'), 'export default { dbName: "x.sqlite3" };\n');
    const shape = bufferIo();
    expect(await runCli(['list', '--config', 'empty.mjs'], shape, dir)).to.equal(1);
    expectOneLine(shape, 'ERR_CONFIG_UNREADABLE');
    writeFileSync(join(dir, 'throws.mjs'), 'export default () => { throw new Error("no DATABASE_URL\\nset"); };\n');
    const throws = bufferIo();
    expect(await runCli(['list', '-c', 'throws.mjs'], throws, dir)).to.equal(1);
    expectOneLine(throws, 'ERR_CONFIG_UNREADABLE');
    expect(throws.stderr).to.include('no DATABASE_URL set');
    writeFileSync(join(dir, 'syntax.mjs'), 'export default {\n');
    const syntax = bufferIo();
    expect(await runCli(['list', '-c', 'syntax.mjs'], syntax, dir)).to.equal(1);
    expectOneLine(syntax, 'ERR_CONFIG_UNREADABLE');
    expect(readdirSync(dir).sort()).to.deep.equal(['empty.mjs', 'syntax.mjs', 'throws.mjs']);
  });

  it('an invalid tenant id, in every command that takes one: one line, exit 1, no file anywhere', async () => {
    writeTsConfig(dir, 'baseMigrations');
    await (await fixtureTenancy(dir)).close();
    const before = readdirSync(join(dir, 'tenants')).sort();
    writeFileSync(join(dir, 'backup.sqlite3'), '');
    for (const args of [
      ['create', '../evil'], ['delete', 'UPPER', '--yes'], ['backup', 'ok', '.hidden', '--out', 'x'], ['migrate', '--tenant', 'a/b'],
      ['migrate', '--check', '--tenant', 'Ü'], ['restore', 'bad id', 'backup.sqlite3'], ['exec', 'x'.repeat(200), '--', 'node', '-e', '0'],
    ]) {
      const io = bufferIo();
      expect(await runCli(args, io, dir), args.join(' ')).to.equal(1);
      expectOneLine(io, 'ERR_INVALID_TENANT_ID');
    }
    expect(readdirSync(join(dir, 'tenants')).sort()).to.deep.equal(before);
    expect(readdirSync(dir).sort()).to.deep.equal(['backup.sqlite3', 'mikro-tenant.config.ts', 'shared.sqlite3', 'tenants']);
  });

  it('a tenant folder that is not a folder: one line, exit 1, the shared database not created', async () => {
    writeTsConfig(dir, 'baseMigrations');
    writeFileSync(join(dir, 'tenants'), 'a file where the folder should be');
    const io = bufferIo();
    expect(await runCli(['create', 'a'], io, dir)).to.equal(1);
    expectOneLine(io, 'ERR_TENANT_FOLDER_UNUSABLE');
    expect(readdirSync(dir).sort()).to.deep.equal(['mikro-tenant.config.ts', 'tenants']);
  });

  it('usage errors: one line, exit 2', async () => {
    writeTsConfig(dir, 'baseMigrations');
    mkdirSync(join(dir, 'tenants'));
    for (const [args, text] of [
      [['migrate', '--concurrency', 'zero'], 'expected a positive whole number'],
      [['migrate', '--concurrency', '0'], 'expected a positive whole number'],
      [['migrate', '--bogus'], "unknown option '--bogus'"],
      [['template', 'rebuild'], 'Allowed choices are build, clear'],
      [['backup', 'a'], "required option '-o, --out <dir>' not specified"],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ] as const) {
      const io = bufferIo();
      expect(await runCli([...args], io, dir), args.join(' ')).to.equal(2);
      expectOneLine(io, 'ERR_USAGE');
      expect(io.stderr).to.include(text);
    }
    const help = bufferIo();
    expect(await runCli(['migrate', '--help'], help, dir)).to.equal(0);
    expect(help.stdout).to.include('--concurrency <n>');
  });
});

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { runCli } from '@mikro-tenant/cli';
import { tempDir } from '../../../../test/helpers.js';
import { bufferIo, writeMjsConfig } from './helpers.js';

/** Runs `mikro-tenant migrate --json` with the config at `config`; resolves the template it reports. */
async function migrate(dir: string, config: string): Promise<string> {
  const io = bufferIo();
  expect(await runCli(['--config', config, 'migrate', '--json'], io, dir), io.stderr).to.equal(0);
  const { template } = JSON.parse(io.stdout) as { template: string };
  expect(template).to.match(/template-[0-9a-f]+\.sqlite3$/);
  return template;
}

function columnsOf(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('select name from pragma_table_info(\'item\')').all() as { name: string }[]).map(r => r.name);
  } finally {
    db.close();
  }
}

describe('mikro-tenant migrate and the template', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-cli-template'));
  });

  afterEach(() => cleanup());

  it('keeps a template whose schema is current, and rebuilds it when a migration was added or edited in place', async () => {
    const first = writeMjsConfig(dir, 1, 'one.config.mjs');
    expect(await runCli(['--config', first, 'create', 'a'], bufferIo(), dir)).to.equal(0);
    const built = await migrate(dir, first);
    const { ino, mtimeMs } = statSync(built);

    // Unchanged migrations: the same file, not rebuilt.
    const again = await migrate(dir, first);
    expect(again).to.equal(built);
    expect(statSync(again)).to.deep.include({ ino, mtimeMs });

    // A migration added: a new template, with the new column; the old one is gone.
    const second = writeMjsConfig(dir, 2, 'two.config.mjs');
    const added = await migrate(dir, second);
    expect(added).to.not.equal(built);
    expect(columnsOf(added)).to.deep.equal(['id', 'label', 'color']);

    // M002 edited in place (same name, another column): new tenants must get the edited schema.
    const edited = join(dir, 'edited.config.mjs');
    writeFileSync(edited, readFileSync(second, 'utf8').replace('add column `color` text null', 'add column `shade` text null'));
    const rebuilt = await migrate(dir, edited);
    expect(rebuilt).to.not.equal(added);
    expect(columnsOf(rebuilt)).to.deep.equal(['id', 'label', 'shade']);
    expect(readdirSync(join(dir, 'tenants', '.mikro-tenant')).filter(name => /^template-.*\.sqlite3$/.test(name))).to.deep.equal([rebuilt.split('/').at(-1)]);
    expect(await runCli(['--config', edited, 'create', 'b'], bufferIo(), dir)).to.equal(0);
    expect(columnsOf(join(dir, 'tenants', 'tenant_b.sqlite3'))).to.deep.equal(['id', 'label', 'shade']);
  });
});

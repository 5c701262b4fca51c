import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { Migration } from '@mikro-orm/migrations';
import type { Configuration } from '@mikro-orm/core';
import { Migration002NoteIndex, baseMigrations } from './fixtures/migrations.js';
import { makeTenancy, ormAdapter, tempDir } from './helpers.js';

/** A migration carrying a name of its own (MikroORM 7's `Migration.name`): the list entry's name is the one recorded. */
class Migration003TagIndex extends Migration {
  constructor(...args: ConstructorParameters<typeof Migration>) {
    super(...args);
    (this as { name?: string }).name = 'Migration003Renamed';
  }

  override async up(): Promise<void> {
    this.addSql('create index `tag_label_index` on `tag` (`label`);');
  }
}

const list = [
  ...baseMigrations,
  { name: 'Migration002NoteIndex.ts', class: Migration002NoteIndex },
  { name: 'Migration003TagIndex', class: Migration003TagIndex },
];

interface FileState { rows: { id: number; name: string; executedAt: string }[]; objects: string[] }

/** The migrations table (its `executed_at` by shape: digits blanked) and every schema object of a tenant file. */
function stateOf(file: string): FileState {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('select id, name, executed_at from mikro_orm_migrations order by id').all() as { id: number; name: string; executed_at: unknown }[];
    return {
      rows: rows.map(r => ({ id: r.id, name: r.name, executedAt: String(r.executed_at).replace(/\d/g, '0') })),
      objects: (db.prepare('select type, name, tbl_name, sql from sqlite_master order by type, name').all() as Record<string, string>[])
        .map(r => `${r.type} ${r.name} ${r.tbl_name} ${r.sql}`),
    };
  } finally {
    db.close();
  }
}

describe(`listed-migration runner on MikroORM ${ormAdapter().major}`, () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => ({ dir, cleanup } = tempDir('mt-listed')));
  afterEach(() => cleanup());

  it('migrates on a connection and on a bare handle to the migrations table and schema MikroORM\'s Migrator writes', async () => {
    const ids = ['runner', 'handle', 'migrator'];
    const v1 = await makeTenancy(dir, { migrations: { migrationsList: baseMigrations } });
    for (const id of [...ids, 'other']) {
      await v1.createTenant(id);
    }
    await v1.close();
    const tenancy = await makeTenancy(dir, { migrations: { migrationsList: list } });
    const expected = 'Migration003TagIndex';
    try {
      const config = await tenancy.run('other', em => em.config as Configuration);
      const runner = ormAdapter().listedMigrationRunner(config.get('migrations'));
      expect(runner, 'the adapter has a listed-migration runner for a migrationsList').to.not.equal(null);
      expect(await tenancy.pendingMigrations('runner')).to.deep.equal(['Migration002NoteIndex', expected]);
      expect((await tenancy.migrateTenant('runner')).executed).to.deep.equal(['Migration002NoteIndex', expected]);
      const db = new Database(join(dir, 'tenants', 'tenant_handle.sqlite3'));
      try {
        expect(await runner!.applyOnHandle(db, config)).to.deep.equal({
          applied: ['Migration002NoteIndex', expected], executed: ['Migration001Notes', 'Migration002NoteIndex', expected],
        });
      } finally {
        db.close();
      }
      expect(await tenancy.run('migrator', em => ormAdapter().migrator(em).up())).to.deep.equal(['Migration002NoteIndex', expected]);
    } finally {
      await tenancy.close();
    }
    const [runner, handle, migrator] = ids.map(id => stateOf(join(dir, 'tenants', `tenant_${id}.sqlite3`)));
    expect(migrator!.rows.map(r => r.name)).to.deep.equal(['Migration001Notes', 'Migration002NoteIndex', expected]);
    expect(runner).to.deep.equal(migrator);
    expect(handle).to.deep.equal(migrator);
  });

  it('leaves to MikroORM\'s Migrator the options it does not cover', () => {
    const runnerOf = (options: object) => ormAdapter().listedMigrationRunner({ migrationsList: baseMigrations, ...options } as never);
    expect(runnerOf({}), 'a list').to.not.equal(null);
    for (const options of [
      { migrationsList: undefined }, { migrationsList: [Migration002NoteIndex] }, { transactional: false }, { allOrNothing: false }, { tableName: 'other.migrations' }, { schema: 'other' },
    ]) {
      expect(runnerOf(options), JSON.stringify(options)).to.equal(null);
    }
  });
});

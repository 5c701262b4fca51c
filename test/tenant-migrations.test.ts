import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { Migration } from '@mikro-orm/migrations';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { SqliteTenancy, TenantError } from '@mikro-tenant/sqlite';
import { migrateOneTenant } from '../packages/cli/dist/migrate-tenant.js';
import { Note, Tag, User } from './fixtures/entities.js';
import { Migration002NoteIndex, Migration003Broken, baseMigrations, brokenMigrations, twoMigrations } from './fixtures/migrations.js';
import { makeTenancy, ormAdapter, tempDir } from './helpers.js';

interface FileState { migrations: string[]; executedAt: unknown[]; objects: string[]; tags: string[] }

function stateOf(file: string): FileState {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('select name, executed_at from mikro_orm_migrations order by id').all() as { name: string; executed_at: unknown }[];
    return {
      migrations: rows.map(r => r.name),
      executedAt: rows.map(r => r.executed_at),
      objects: (db.prepare('select type, name, sql from sqlite_master order by name').all() as { type: string; name: string; sql: string }[])
        .map(r => `${r.type} ${r.name} ${r.sql}`),
      tags: (db.prepare('select label from tag order by id').all() as { label: string }[]).map(r => r.label),
    };
  } finally {
    db.close();
  }
}

/** A migration that writes the shared database's user table (ATTACHed to tenant connections): refused on tenant connections. */
class Migration002WritesShared extends Migration {
  override async up(): Promise<void> {
    this.addSql('create index `tag_label_index` on `tag` (`label`);');
    this.addSql('insert into `user` (`id`, `name`) values (\'from-migration\', \'x\');');
  }
}

/** Tags a migration's up() writes through the database, and how often up() ran. */
let upCalls = 0;

/** A migration whose up() uses the database (execute), then adds SQL. */
class Migration002WithData extends Migration {
  override async up(): Promise<void> {
    upCalls++;
    await this.execute('insert into `tag` (`label`) values (\'written by up()\')');
    this.addSql('create index `tag_label_index` on `tag` (`label`);');
  }
}

describe('tenant migrations (migrate, migrateTenant, pendingMigrations)', () => {
  let dir: string;
  let cleanup: () => void;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mt-migrations'));
    upCalls = 0;
  });

  afterEach(() => cleanup());

  /** Tenants `ids` created at the base migration, then a tenancy with `migrationsList`. */
  async function behind(ids: string[], migrationsList: typeof twoMigrations): Promise<SqliteTenancy<SqlEntityManager>> {
    const v1 = await makeTenancy(dir, { migrations: { migrationsList: baseMigrations } });
    for (const id of ids) {
      await v1.createTenant(id);
    }
    await v1.close();
    return makeTenancy(dir, { migrations: { migrationsList } });
  }

  it('gives the schema and migrations table MikroORM\'s Migrator gives, and reports pending ones the same way', async () => {
    const tenancy = await behind(['ours', 'migrator'], twoMigrations);
    try {
      expect(await tenancy.pendingMigrations('ours')).to.deep.equal(['Migration002NoteIndex']);
      expect(await tenancy.run('migrator', em => ormAdapter().migrator(em).pending()))
        .to.deep.equal(['Migration002NoteIndex']);
      expect(await tenancy.migrateTenant('ours')).to.deep.equal({ executed: ['Migration002NoteIndex'], version: 'Migration002NoteIndex' });
      await tenancy.run('migrator', em => ormAdapter().migrator(em).up());
      expect(await tenancy.migrateTenant('ours')).to.deep.equal({ executed: [], version: 'Migration002NoteIndex' });
      expect(await tenancy.pendingMigrations('ours')).to.deep.equal([]);
      expect((await tenancy.registry.get('ours'))?.schemaVersion).to.equal('Migration002NoteIndex');
    } finally {
      await tenancy.close();
    }
    const ours = stateOf(join(dir, 'tenants', 'tenant_ours.sqlite3'));
    const migrator = stateOf(join(dir, 'tenants', 'tenant_migrator.sqlite3'));
    expect(ours.objects).to.deep.equal(migrator.objects);
    expect(ours.migrations).to.deep.equal(['Migration001Notes', 'Migration002NoteIndex']).and.deep.equal(migrator.migrations);
    expect(ours.executedAt.every(at => at !== null && String(at).length > 0)).to.equal(true);
  });

  it('rolls the whole run back when a migration fails: the earlier ones of the run too', async () => {
    const tenancy = await behind(['t1'], brokenMigrations);
    const before = stateOf(join(dir, 'tenants', 'tenant_t1.sqlite3'));
    try {
      const error = await tenancy.migrateTenant('t1').then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(TenantError).and.have.property('code', 'ERR_TENANT_MIGRATION_FAILED');
      expect(await tenancy.pendingMigrations('t1')).to.deep.equal(['Migration002NoteIndex', 'Migration003Broken']);
    } finally {
      await tenancy.close();
    }
    expect(stateOf(join(dir, 'tenants', 'tenant_t1.sqlite3'))).to.deep.equal(before);
  });

  it('runs a migration that uses the database in the run\'s transaction, rolled back with it; its up() runs once per tenant', async () => {
    const withData = [...baseMigrations, { name: 'Migration002WithData', class: Migration002WithData }];
    const tenancy = await behind(['a', 'b', 'c', 'broken'], withData);
    try {
      for (const id of ['a', 'b', 'c']) {
        expect((await tenancy.migrateTenant(id)).executed).to.deep.equal(['Migration002WithData']);
      }
      // The list runner tries it once without a database (to tell it from migrations that only add SQL),
      // then runs it for each tenant through MikroORM's connection.
      expect(upCalls).to.equal(4);
    } finally {
      await tenancy.close();
    }
    for (const id of ['a', 'b', 'c']) {
      const state = stateOf(join(dir, 'tenants', `tenant_${id}.sqlite3`));
      expect(state.tags).to.deep.equal(['written by up()']);
      expect(state.objects.some(o => o.startsWith('index tag_label_index'))).to.equal(true);
    }
    const failing = await makeTenancy(dir, {
      migrations: { migrationsList: [...withData, { name: 'Migration003Broken', class: Migration003Broken }] },
    });
    try {
      await failing.migrateTenant('broken').then(() => expect.fail('migrated'), (e: unknown) => {
        expect(e).to.have.property('code', 'ERR_TENANT_MIGRATION_FAILED');
      });
    } finally {
      await failing.close();
    }
    const broken = stateOf(join(dir, 'tenants', 'tenant_broken.sqlite3'));
    expect(broken.tags).to.deep.equal([]);
    expect(broken.migrations).to.deep.equal(['Migration001Notes']);
  });

  it('applies nothing twice when the migrations table changed after it was read (another run got there first)', async () => {
    const tenancy = await behind(['raced'], twoMigrations);
    try {
      await tenancy.run('raced', async em => {
        const runner = ormAdapter().listedMigrationRunner(em.config.get('migrations'))!;
        const read = (await runner.executed(em))!;
        expect(read).to.deep.equal(['Migration001Notes']);
        expect((await runner.apply(em, read, runner.pending(read))).applied).to.deep.equal(['Migration002NoteIndex']);
        // A second run that read the table before the first one committed.
        expect(await runner.apply(em, read, runner.pending(read))).to.deep.equal({
          applied: [], executed: ['Migration001Notes', 'Migration002NoteIndex'],
        });
      }, { sharedContext: false });
    } finally {
      await tenancy.close();
    }
    expect(stateOf(join(dir, 'tenants', 'tenant_raced.sqlite3')).migrations).to.deep.equal(['Migration001Notes', 'Migration002NoteIndex']);
  });

  it('refuses a migration script that writes the shared database, on a connection and on a bare handle (the CLI), rolling it back', async () => {
    const writesShared = [...baseMigrations, { name: 'Migration002WritesShared', class: Migration002WritesShared }];
    const tenancy = await behind(['via-run', 'via-cli'], writesShared);
    try {
      await tenancy.sharedSchema.create();
      const error = await tenancy.migrateTenant('via-run').then(() => undefined, (e: unknown) => e);
      expect(error).to.have.property('code', 'ERR_TENANT_MIGRATION_FAILED');
      expect((error as Error).cause).to.have.property('code', 'ERR_SHARED_WRITE_ON_TENANT_EM');
      const outcome = await migrateOneTenant(tenancy as never, 'via-cli');
      expect(outcome).to.include({ status: 'failed', code: 'ERR_TENANT_MIGRATION_FAILED' });
      expect(outcome.error).to.match(/shared/i);
      expect(await tenancy.orm.em.fork().count(User, {})).to.equal(0);
    } finally {
      await tenancy.close();
    }
    for (const id of ['via-run', 'via-cli']) {
      expect(stateOf(join(dir, 'tenants', `tenant_${id}.sqlite3`)).migrations, id).to.deep.equal(['Migration001Notes']);
    }
  });

  it('logs every statement of a migration with the tenant when MikroORM logs queries', async () => {
    const v1 = await makeTenancy(dir, { migrations: { migrationsList: baseMigrations } });
    await v1.createTenant('logged');
    await v1.close();
    const lines: string[] = [];
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], allowGlobalContext: false,
      debug: ['query'], logger: line => lines.push(line), colors: false,
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined, migrations: { migrationsList: twoMigrations } },
    });
    try {
      lines.length = 0;
      await tenancy.migrateTenant('logged');
    } finally {
      await tenancy.close();
    }
    const logged = lines.map(line => line.replace(/\x1B\[\d+m/g, '')).filter(line => line.includes('(tenant:logged)'));
    expect(logged.some(line => line.includes('create index `note_author_id_index`'))).to.equal(true);
    expect(logged.some(line => /insert into `mikro_orm_migrations`/.test(line))).to.equal(true);
    expect(Migration002NoteIndex.name).to.equal('Migration002NoteIndex');
  });
});

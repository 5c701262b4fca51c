import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'chai';
import { RowTenancy } from '@mikro-tenant/row';
import { tempDir } from '../helpers.js';
import { createTestDatabase } from '../postgres/helpers.js';
import { oneLine, runBin, runBins } from '../postgres/cli/helpers.js';
import { ormMajor } from '../orm-major.js';
import { moduleUrl as packageUrl, schemaGenerator } from '../orm-packages.js';
import { createAppRole } from './helpers.js';

// As this run resolves them: MikroORM 7's install on `npm run test:mikro-orm-7`.
const moduleUrl = (name: string) => JSON.stringify(packageUrl(name));
const HOSTILE = ['../evil', 'a/b', 'UPPER', '"; drop table item; --', 'tab\there', 'x'.repeat(65)];

/**
 * Writes `mikro-tenant.config.mjs` for the row strategy (plain JavaScript: runs without tsx), with one
 * tenant-owned `Item`, on SQLite (`strategy: 'sqlite-row'`) or PostgreSQL (`'pg-row'`).
 */
function writeRowConfig(dir: string, engine: 'sqlite' | 'pg', url: string): void {
  const [driverPackage, driverClass] = engine === 'pg' ? ['@mikro-orm/postgresql', 'PostgreSqlDriver']
    : ormMajor() === 6 ? ['@mikro-orm/better-sqlite', 'BetterSqliteDriver'] : ['@mikro-orm/sqlite', 'SqliteDriver'];
  const where = engine === 'sqlite' ? `dbName: ${JSON.stringify(join(dir, 'app.sqlite3'))}` : `clientUrl: ${JSON.stringify(url)}`;
  // Static imports: the test requires this file too, and an import() in it would load a second copy of MikroORM there.
  writeFileSync(join(dir, 'mikro-tenant.config.mjs'), `import { defineEntity, p } from ${moduleUrl('@mikro-orm/core')};
import { ${driverClass} } from ${moduleUrl(driverPackage)};
export const Item = defineEntity({ name: 'Item', properties: { id: p.integer().primary().autoincrement(), label: p.string() } });
export default async () => ({
  strategy: ${JSON.stringify(engine === 'sqlite' ? 'sqlite-row' : 'pg-row')},
  driver: ${driverClass},
  ${where},
  entities: [],
  discovery: { warnWhenNoEntities: false },
  tenancy: { entities: [Item], warn: () => undefined },
});
`);
}

/** A row tenancy in this process from the config (its tables created; on PostgreSQL its policies). */
async function configTenancy(dir: string): Promise<{ tenancy: RowTenancy; Item: unknown }> {
  // require(), as this file is loaded: an import() from here would load the config's MikroORM as a second copy
  // under tsx (MikroORM 7's instanceof checks then fail). Each test writes its config in a fresh folder.
  const module = createRequire(import.meta.url)(join(dir, 'mikro-tenant.config.mjs')) as {
    default: () => Promise<Record<string, unknown>>; Item: unknown;
  };
  const { strategy: _, ...config } = await module.default();
  return { tenancy: await RowTenancy.init(config as never), Item: module.Item };
}

for (const engine of ['sqlite', 'pg'] as const) {
  describe(`mikro-tenant on the row strategy, ${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} (the bin, real processes)`, function () {
    this.timeout(180_000);
    let dir: string;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const temp = tempDir('mt-row-cli');
      dir = temp.dir;
      if (engine === 'sqlite') {
        writeRowConfig(dir, engine, '');
        cleanup = async () => temp.cleanup();
      } else {
        const db = await createTestDatabase('rowcli');
        const role = await createAppRole(db);
        writeRowConfig(dir, engine, role.url);
        cleanup = async () => { temp.cleanup(); await db.drop(); await role.drop(); };
      }
      const { tenancy } = await configTenancy(dir);
      await schemaGenerator(tenancy.orm.schema).update();
      if (tenancy.rowLevelSecurity) {
        await tenancy.applyRowSecurity();
      }
      await tenancy.close();
    });

    afterEach(() => cleanup());

    const items = async () => {
      const { tenancy, Item } = await configTenancy(dir);
      try {
        return await tenancy.unscoped(async em => (await em.find(Item as never, {}, { orderBy: { id: 'asc' } as never }) as { tenantId: string; label: string }[])
          .map(i => `${i.tenantId}:${i.label}`));
      } finally {
        await tenancy.close();
      }
    };

    it('create, list, reconcile (--fix), migrate (--check), exec, delete', async () => {
      const created = await runBin(['create', 'a'], dir);
      expect(created.stdout, created.stderr).to.equal('created a (rows in the shared tables)\n');
      const twice = await runBin(['create', 'a'], dir);
      expect(twice.code).to.equal(1);
      expect(twice.stderr).to.match(oneLine('ERR_TENANT_EXISTS'));

      const { tenancy, Item } = await configTenancy(dir);
      for (const id of ['b', 'ghost']) {
        await tenancy.run(id, async em => { em.create(Item as never, { label: `of ${id}` }); await em.flush(); });
      }
      // A tenant's rows without its registry row (a registry restored from an older backup, rows copied in by hand).
      await tenancy.orm.em.getConnection().execute('delete from mikro_tenant_registry where tenant_id = ?', ['ghost']);
      await tenancy.close();

      const list = await runBin(['list', '--json'], dir);
      expect(list.code, list.stderr).to.equal(0);
      expect(JSON.parse(list.stdout)).to.deep.equal({ tenants: ['a', 'b'].map(tenantId => ({ tenantId, sizeBytes: null, modifiedAt: null, schemaVersion: null, pendingMigrations: 0 })) });
      const table = await runBin(['list'], dir);
      expect(table.stdout).to.match(/^a +- +- +0$/m).and.not.match(/missing/);

      const found = await runBin(['reconcile', '--json'], dir);
      expect(found.code, found.stderr).to.equal(1);
      expect(JSON.parse(found.stdout)).to.deep.equal({ unregistered: ['ghost'], missingTables: [], fixed: false });
      const words = await runBin(['reconcile'], dir);
      expect(words.stdout).to.equal('tenant ids in the shared tables without a registry row: ghost\n');
      const fixed = await runBin(['reconcile', '--fix'], dir);
      expect(fixed.code, fixed.stderr).to.equal(0);
      expect((await runBin(['reconcile'], dir)).code).to.equal(0);

      const check = await runBin(['migrate', '--check', '--json'], dir);
      expect(check.code, check.stderr).to.equal(0);
      expect(JSON.parse(check.stdout)).to.deep.equal({ checked: 3, pending: [], missing: [], errors: [] });
      expect(check.stderr).to.match(/nothing is migrated per tenant/);
      const migrated = await runBin(['migrate', '--json'], dir);
      expect(migrated.code, migrated.stderr).to.equal(0);
      expect(JSON.parse(migrated.stdout)).to.deep.include({ migrated: [], failed: [], upToDate: 3, workers: 0, template: null });
      expect(migrated.stderr).to.match(/nothing is migrated per tenant/);

      const exec = await runBin(['exec', 'b', '--', process.execPath, '-e', 'console.log(process.env.MIKRO_TENANT_ID)'], dir);
      expect(exec.stdout, exec.stderr).to.equal('b\n');
      const nobody = await runBin(['exec', 'nobody', '--', process.execPath, '-e', '0'], dir);
      expect(nobody.code).to.equal(1);
      expect(nobody.stderr).to.match(oneLine('ERR_TENANT_NOT_FOUND'));

      const deleted = await runBin(['delete', 'b', '--yes'], dir);
      expect(deleted.stdout, deleted.stderr).to.equal('deleted b\n');
      expect(await items()).to.deep.equal(['ghost:of ghost']);
      expect(JSON.parse((await runBin(['list', '--json'], dir)).stdout).tenants.map((t: { tenantId: string }) => t.tenantId)).to.deep.equal(['a', 'ghost']);
    });

    if (engine === 'sqlite') {
      it('with no database yet, list and migrate report no tenants and create nothing', async () => {
        const fresh = tempDir('mt-row-cli-fresh');
        try {
          writeRowConfig(fresh.dir, engine, '');
          const runs = [['list', '--json'], ['list'], ['migrate', '--check'], ['migrate', '--json']].map(args => ({ args }));
          const results = await runBins(runs, fresh.dir);
          results.forEach((result, i) => {
            expect(result.code, `${runs[i]!.args.join(' ')}: ${result.stderr}`).to.equal(0);
            expect(result.stderr, runs[i]!.args.join(' ')).to.match(/^mikro-tenant: no database at .*app\.sqlite3 yet, so no tenants/);
          });
          expect(readdirSync(fresh.dir)).to.deep.equal(['mikro-tenant.config.mjs']);
        } finally {
          fresh.cleanup();
        }
      });
    }

    it('hostile ids fail with ERR_INVALID_TENANT_ID in every command, and nothing is created', async () => {
      await runBin(['create', 'a'], dir);
      const commands = [
        (id: string) => ['create', id], (id: string) => ['delete', id, '--yes'], (id: string) => ['exec', id, '--', process.execPath, '-e', '0'],
        (id: string) => ['migrate', '--check', '--tenant', id],
      ];
      const runs = HOSTILE.flatMap(id => commands.map(command => ({ args: command(id) })));
      const results = await runBins(runs, dir);
      results.forEach((result, i) => {
        expect(result.code, `${runs[i]!.args.join(' ')}: ${result.stderr}`).to.equal(1);
        expect(result.stderr, runs[i]!.args.join(' ')).to.match(oneLine('ERR_INVALID_TENANT_ID'));
      });
      expect(JSON.parse((await runBin(['list', '--json'], dir)).stdout).tenants.map((t: { tenantId: string }) => t.tenantId)).to.deep.equal(['a']);
      expect(await items()).to.deep.equal([]);
    });

    it('backup, restore and template are refused with ERR_NOT_SUPPORTED before anything is written', async () => {
      await runBin(['create', 'a'], dir);
      const out = join(dir, 'backups');
      const results = await runBins([
        { args: ['backup', 'a', '--out', out] }, { args: ['backup', '--all', '--out', out] }, { args: ['backup', 'nobody', '--out', out] },
        { args: ['restore', 'a', join(dir, 'app.sqlite3')] }, { args: ['restore', 'new', join(dir, 'nothing.dump')] },
        { args: ['template', 'build'] }, { args: ['template', 'clear'] },
      ], dir);
      for (const result of results) {
        expect(result.code, result.stderr).to.equal(1);
        expect(result.stderr).to.match(oneLine('ERR_NOT_SUPPORTED'));
      }
      expect(results[0]!.stderr).to.match(/whole database/);
      expect(existsSync(out)).to.equal(false);
      expect(JSON.parse((await runBin(['list', '--json'], dir)).stdout).tenants.map((t: { tenantId: string }) => t.tenantId)).to.deep.equal(['a']);
    });
  });
}

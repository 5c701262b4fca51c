import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { brokenMigrations, twoMigrations } from './fixtures/migrations.js';
import { errorOf, makeTenancy, tempDir, warningCollector } from './helpers.js';
import { lastJson, startChild } from './reliability/support.js';

function migrationsIn(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).to.equal('ok');
    db.prepare('select count(*) from note').get();
    return (db.prepare('select name from mikro_orm_migrations order by id').all() as { name: string }[]).map(r => r.name);
  } finally {
    db.close();
  }
}

describe('provisioning', () => {
  it('provisions a new tenant once for 50 concurrent first accesses in one process', async () => {
    const tmp = tempDir();
    const tenancy = await makeTenancy(tmp.dir, { migrations: { migrationsList: twoMigrations } });
    try {
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => tenancy.run('newbie', em => em.count(Note, {}))));
      expect(results.filter(r => r.status === 'rejected')).to.deep.equal([]);
      expect((await tenancy.registry.list()).map(r => r.tenantId)).to.deep.equal(['newbie']);
      expect(readdirSync(tenancy.files.dir).filter(n => n.endsWith('.sqlite3'))).to.deep.equal(['tenant_newbie.sqlite3']);
      expect(readdirSync(join(tenancy.files.internalDir, 'tmp'))).to.deep.equal([]);
    } finally {
      await tenancy.close();
      tmp.cleanup();
    }
  });

  it('provisions once across 4 processes with concurrent first accesses', async function () {
    this.timeout(60_000);
    const tmp = tempDir();
    const setup = await makeTenancy(tmp.dir, { migrations: { migrationsList: twoMigrations } });
    await setup.close();
    const ids = ['p1', 'p2', 'p3'];
    const children = Array.from({ length: 4 }, () => startChild([tmp.dir, 'access', ids.join(','), '12']));
    await Promise.all(children.map(child => child.ready));
    writeFileSync(join(tmp.dir, 'go'), '');
    const runs = await Promise.all(children.map(child => child.done));
    try {
      for (const run of runs) {
        expect(run.code, run.stderr).to.equal(0);
        const result = lastJson<{ ok: number; errors: string[] }>(run.stdout);
        expect(result.errors).to.deep.equal([]);
        expect(result.ok).to.equal(ids.length * 12);
      }
      const check = await makeTenancy(tmp.dir, { migrations: { migrationsList: twoMigrations } });
      expect((await check.registry.list()).map(r => r.tenantId)).to.deep.equal(ids);
      await check.close();
      for (const id of ids) {
        expect(migrationsIn(join(tmp.dir, 'tenants', `tenant_${id}.sqlite3`))).to.deep.equal(twoMigrations.map(m => m.name));
      }
    } finally {
      tmp.cleanup();
    }
  });

  for (const provisioning of ['template', 'migrate'] as const) {
    it(`leaves no half-built tenant file when processes are killed while provisioning (${provisioning})`, async function () {
      this.timeout(90_000);
      const tmp = tempDir();
      const setup = await makeTenancy(tmp.dir, { migrations: { migrationsList: twoMigrations } });
      await setup.close();
      const ids = Array.from({ length: 400 }, (_, i) => `k${i}`);
      for (let round = 0; round < 4; round++) {
        const child = startChild([tmp.dir, 'provision', ids.join(','), provisioning]);
        await child.ready;
        await new Promise(resolve => setTimeout(resolve, 60 + Math.random() * 250));
        child.kill();
        await child.done;
      }
      try {
        const tenantsDir = join(tmp.dir, 'tenants');
        const files = readdirSync(tenantsDir).filter(n => n.endsWith('.sqlite3'));
        expect(files.length, 'some tenants were provisioned before the kills').to.be.greaterThan(0);
        expect(files.length, 'the kills interrupted the run').to.be.lessThan(ids.length);
        for (const file of files) {
          expect(migrationsIn(join(tenantsDir, file)), file).to.deep.equal(twoMigrations.map(m => m.name));
        }
        // The next access (a new process) provisions the rest cleanly and removes the dead builds' leftovers.
        const next = await SqliteTenancy.init({
          dbName: join(tmp.dir, 'shared.sqlite3'), entities: [User],
          tenancy: { dir: tenantsDir, entities: [Note, Tag], migrations: { migrationsList: twoMigrations } },
        });
        for (const id of ids.slice(0, files.length + 5)) {
          expect(await next.run(id, em => em.count(Note, {}))).to.equal(0);
        }
        expect(readdirSync(join(next.files.internalDir, 'tmp'))).to.deep.equal([]);
        await next.close();
      } finally {
        tmp.cleanup();
      }
    });
  }

  it('never overwrites an existing tenant file', async () => {
    const tmp = tempDir();
    const tenancy = await makeTenancy(tmp.dir);
    try {
      await tenancy.run('keep', async em => {
        em.create(Tag, { label: 'precious' });
        await em.flush();
      });
      const before = readFileSync(tenancy.files.path('keep'));
      expect(await errorOf(() => tenancy.createTenant('keep'))).to.have.property('code', 'ERR_TENANT_EXISTS');
      expect(await tenancy.run('keep', em => em.find(Tag, {})).then(t => t.map(x => x.label))).to.deep.equal(['precious']);
      expect(readFileSync(tenancy.files.path('keep')).length).to.equal(before.length);
    } finally {
      await tenancy.close();
      tmp.cleanup();
    }
  });

  it('refuses to place a built file over one that appeared meanwhile (another process won the race)', async () => {
    const tmp = tempDir();
    const tenancy = await makeTenancy(tmp.dir);
    try {
      mkdirSync(tenancy.files.dir, { recursive: true });
      const target = tenancy.files.path('raced');
      writeFileSync(target, 'not ours');
      const { placeNoOverwrite } = await import('@mikro-tenant/sqlite');
      const source = tenancy.files.tmpPath('raced');
      writeFileSync(source, 'ours');
      expect(await placeNoOverwrite(source, target)).to.equal(false);
      expect(readFileSync(target, 'utf8')).to.equal('not ours');
      expect(existsSync(source)).to.equal(false);
    } finally {
      await tenancy.close();
      tmp.cleanup();
    }
  });

  it('answers ERR_TENANT_NOT_FOUND for unknown tenants when autoCreate is off, creating nothing', async () => {
    const tmp = tempDir();
    const tenancy = await makeTenancy(tmp.dir, { autoCreate: false });
    try {
      expect(await errorOf(() => tenancy.run('ghost', async () => undefined))).to.have.property('code', 'ERR_TENANT_NOT_FOUND');
      expect(existsSync(tenancy.files.path('ghost'))).to.equal(false);
      await tenancy.createTenant('ghost');
      expect(await tenancy.run('ghost', em => em.count(Note, {}))).to.equal(0);
    } finally {
      await tenancy.close();
      tmp.cleanup();
    }
  });

  it('run() with create: false never creates, even with autoCreate on; a deleted tenant is not brought back', async () => {
    const tmp = tempDir();
    const tenancy = await makeTenancy(tmp.dir);
    const codeOf = (promise: Promise<unknown>) => promise.then(() => 'none', (error: { code?: string }) => error.code);
    try {
      expect(await codeOf(tenancy.run('ghost', async () => undefined, { create: false }))).to.equal('ERR_TENANT_NOT_FOUND');
      expect(existsSync(tenancy.files.path('ghost'))).to.equal(false);
      await tenancy.run('real', async () => undefined);
      expect(await tenancy.run('real', em => em.count(Note, {}), { create: false })).to.equal(0);
      await tenancy.deleteTenant('real');
      expect(await codeOf(tenancy.run('real', async () => undefined, { create: false }))).to.equal('ERR_TENANT_NOT_FOUND');
      expect(existsSync(tenancy.files.path('real'))).to.equal(false);
    } finally {
      await tenancy.close();
      tmp.cleanup();
    }
  });

  it('a migration failing while provisioning is ERR_TENANT_PROVISIONING_FAILED, with the migration error as its cause', async () => {
    const tmp = tempDir();
    try {
      for (const template of [true, false]) {
        const { warn } = warningCollector();
        const tenancy = await makeTenancy(join(tmp.dir, String(template)), { template, migrations: { migrationsList: brokenMigrations }, warn });
        try {
          for (const [name, provision] of [['run', () => tenancy.run('new', () => undefined)], ['createTenant', () => tenancy.createTenant('new')]] as const) {
            const error = await errorOf(provision);
            const label = `${name}, template: ${template}`;
            expect(error, label).to.have.property('code', 'ERR_TENANT_PROVISIONING_FAILED');
            expect(error!.cause, label).to.have.property('code', 'ERR_TENANT_MIGRATION_FAILED');
            expect(existsSync(tenancy.files.path('new')), label).to.equal(false);
          }
        } finally {
          await tenancy.close();
        }
      }
    } finally {
      tmp.cleanup();
    }
  });
});

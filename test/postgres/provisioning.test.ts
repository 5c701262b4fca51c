import { expect } from 'chai';
import { Tag } from '../fixtures/entities.js';
import { pgTwoMigrations } from '../fixtures/pg-migrations.js';
import { errorOf } from '../helpers.js';
import { recordPoolStatements, schemaNames, withPgTenancy } from './helpers.js';

describe('postgres: provisioning', () => {
  describe('from the entities', () => {
    const fixture = withPgTenancy();

    it('createTenant resolves with the registry row, written with the schema; a second call is ERR_TENANT_EXISTS and changes nothing', async () => {
      const { tenancy, db } = fixture;
      const record = await tenancy.createTenant('acme');
      expect(record).to.include({ tenantId: 'acme', location: 'tenant_acme' });
      expect(await tenancy.registry.get('acme')).to.deep.equal(record);
      await tenancy.run('acme', async em => { em.create(Tag, { label: 'kept' }); await em.flush(); });
      expect(await errorOf(() => tenancy.createTenant('acme'))).to.have.property('code', 'ERR_TENANT_EXISTS');
      expect(await tenancy.run('acme', em => em.count(Tag, {}))).to.equal(1);
      expect(await schemaNames(db)).to.deep.equal(['tenant_acme']);
    });

    it('concurrent first requests of one tenant in one process create its schema once', async () => {
      const { tenancy } = fixture;
      const counts = await Promise.all(Array.from({ length: 20 }, () => tenancy.run('busy', em => em.count(Tag, {}))));
      expect(counts).to.deep.equal(Array(20).fill(0));
      expect(tenancy.stats()).to.include({ provisioned: 1, provisionRaces: 0 });
      const explicit = await Promise.allSettled([tenancy.createTenant('fresh'), tenancy.createTenant('fresh')]);
      expect(explicit.map(r => r.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
      expect((explicit.find(r => r.status === 'rejected') as PromiseRejectedResult).reason).to.have.property('code', 'ERR_TENANT_EXISTS');
    });

    it('run(id, fn, { create: false }) never creates: ERR_TENANT_NOT_FOUND', async () => {
      const { tenancy, db } = fixture;
      expect(await errorOf(() => tenancy.run('ghost', async () => undefined, { create: false }))).to.have.property('code', 'ERR_TENANT_NOT_FOUND');
      expect(await schemaNames(db)).to.deep.equal([]);
    });

    it('tenantExists says whether the schema exists, without creating it', async () => {
      const { tenancy } = fixture;
      expect(await tenancy.tenantExists('later')).to.equal(false);
      await tenancy.createTenant('later');
      expect(await tenancy.tenantExists('later')).to.equal(true);
    });
  });

  describe('with autoCreate off', () => {
    const fixture = withPgTenancy({ autoCreate: false });

    it('unknown tenants are ERR_TENANT_NOT_FOUND on every way in; createTenant still creates', async () => {
      const { tenancy, db } = fixture;
      expect(await errorOf(() => tenancy.run('x', async () => undefined))).to.have.property('code', 'ERR_TENANT_NOT_FOUND');
      expect(await errorOf(() => tenancy.fork('x'))).to.have.property('code', 'ERR_TENANT_NOT_FOUND');
      expect(await errorOf(() => tenancy.pendingMigrations('x'))).to.have.property('code', 'ERR_TENANT_NOT_FOUND');
      expect(await schemaNames(db)).to.deep.equal([]);
      await tenancy.createTenant('x');
      expect(await tenancy.run('x', em => em.count(Tag, {}))).to.equal(0);
    });
  });

  describe('from migrations', () => {
    const fixture = withPgTenancy({ migrations: { migrationsList: pgTwoMigrations } });

    it('records the migrations once per process, then provisions each tenant in one statement batch', async () => {
      const { tenancy } = fixture;
      const statements: string[] = [];
      await recordPoolStatements(tenancy.orm, statements);
      await tenancy.createTenant('one');
      const first = statements.length;
      statements.length = 0;
      await tenancy.createTenant('two');
      // One check that the schema is free, one batch that creates it with its tables, migrations and registry row.
      expect(statements.filter(sql => /create schema "tenant_two"/.test(sql))).to.have.length(1);
      expect(statements.length, statements.join('\n---\n')).to.equal(2);
      expect(first).to.be.greaterThan(statements.length);
    });
  });
});

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { fromUser, tenantMiddleware, type TenantResolver } from '@mikro-tenant/koa';
import { Note, User, type IUser } from './fixtures/entities.js';
import { createSharedSchema, errorOf, makeTenancy, tempDir } from './helpers.js';

type Tenant = Parameters<SqliteTenancy['run']>[0];

/**
 * Every public method that takes a tenant, with what it says about the tenant it resolved an input to.
 * Together with NO_TENANT_INPUT it names every public method: a new one must say which it is.
 */
const TENANT_INPUT: Record<string, (t: SqliteTenancy, tenant: Tenant) => Promise<unknown>> = {
  tenantId: async (t, tenant) => t.tenantId(tenant),
  createTenant: async (t, tenant) => (await t.createTenant(tenant)).tenantId,
  tenantExists: async (t, tenant) => (await t.tenantExists(tenant)) && readdirSync(t.files.dir).filter(n => n.endsWith('.sqlite3')).join(),
  run: (t, tenant) => t.run(tenant, em => em.tenantId),
  fork: async (t, tenant) => (await t.fork(tenant)).tenantId,
  pendingMigrations: async (t, tenant) => (await t.pendingMigrations(tenant)).length === 0 && readdirSync(t.files.dir).filter(n => n.endsWith('.sqlite3')).join(),
  // Statements counted under the id resolved: pendingMigrations() just ran some for t-ann, none for "ann".
  tenantUsage: async (t, tenant) => (await t.tenantUsage(tenant)).queries > 0 && (await t.tenantUsage('ann')).queries === 0,
  migrateTenant: async (t, tenant) => (await t.migrateTenant(tenant)).version !== undefined && (await t.registry.list()).map(r => r.tenantId).join(),
  deleteTenant: async (t, tenant) => (await t.deleteTenant(tenant)) && readdirSync(t.files.dir).filter(n => n.endsWith('.sqlite3')).join(),
};
// admin(): its operations take canonical ids, which tools get from tenancy.tenantId() (the CLI does).
const NO_TENANT_INPUT = ['listTenants', 'reconcile', 'buildTemplate', 'clearTemplate', 'close', 'stats', 'admin'];

/** The answer for the tenant `t-ann` of each call above, in order (deleteTenant last: it leaves no file). */
const EXPECTED = {
  tenantId: 't-ann', createTenant: 't-ann', tenantExists: 'tenant_t-ann.sqlite3', run: 't-ann', fork: 't-ann',
  pendingMigrations: 'tenant_t-ann.sqlite3', tenantUsage: true, migrateTenant: 't-ann', deleteTenant: '',
};

describe('one rule for which tenant an entity stands for (tenantIdOf)', () => {
  let dir: string;
  let cleanup: () => void;
  let tenancy: SqliteTenancy;
  let ann: IUser;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    tenancy = await makeTenancy(dir, { tenantEntity: User, tenantIdOf: (user: IUser) => `t-${user.id}`, deleteOnTenantDelete: true });
    await createSharedSchema(tenancy);
    const em = tenancy.orm.em.fork();
    ann = em.create(User, { id: 'ann', name: 'Ann' });
    await em.flush();
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('every method taking a tenant reads a tenant entity through tenantIdOf, never its primary key', async () => {
    // SqliteTenancy's methods and those of the strategy-neutral class it extends (AbstractTenancy).
    const methods = [...new Set([SqliteTenancy.prototype, Object.getPrototypeOf(SqliteTenancy.prototype) as object].flatMap(proto => Object.getOwnPropertyNames(proto)
      .filter(name => name !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, name)!.value === 'function')))];
    expect([...Object.keys(TENANT_INPUT), ...NO_TENANT_INPUT].sort()).to.deep.equal(methods.sort());
    const seen: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(TENANT_INPUT)) {
      seen[name] = await call(tenancy, ann);
    }
    expect(seen).to.deep.equal(EXPECTED);
    expect(existsSync(tenancy.files.path('ann')), 'the primary key named a tenant').to.equal(false);
  });

  it('the deletion subscriber deletes the tenant that run(entity) opened', async () => {
    await tenancy.run(ann, async () => undefined);
    const em = tenancy.orm.em.fork();
    em.remove(await em.findOneOrFail(User, 'ann'));
    await em.flush();
    expect(readdirSync(tenancy.files.dir).filter(n => n.endsWith('.sqlite3'))).to.deep.equal([]);
  });

  it('the Koa middleware resolves an entity by the same rule (a resolver returning it, and fromUser() by default)', async () => {
    const app = (resolve?: TenantResolver) => {
      const koa = new Koa();
      koa.use(async (ctx, next) => {
        ctx.state.user = ann;
        await next();
      });
      koa.use(tenantMiddleware(tenancy, resolve ? { resolve } : {}));
      koa.use(ctx => { ctx.body = { tenantId: ctx.state.tenantId }; });
      return koa.callback();
    };
    expect((await request(app(() => ann)).get('/')).body).to.deep.equal({ tenantId: 't-ann' });
    expect((await request(app()).get('/')).body).to.deep.equal({ tenantId: 't-ann' });
    expect((await request(app(fromUser('id'))).get('/')).body).to.deep.equal({ tenantId: 'ann' });
  });

  it('refuses an entity of another class where a tenant is expected', async () => {
    const note = await tenancy.run('x', async em => {
      const created = em.create(Note, { text: 'not a tenant' });
      await em.flush();
      return created;
    });
    for (const [name, call] of Object.entries(TENANT_INPUT)) {
      expect(await errorOf(() => call(tenancy, note)), name).to.have.property('code', 'ERR_INVALID_TENANT_ID');
    }
    expect(readdirSync(join(dir, 'tenants')).filter(n => n.endsWith('.sqlite3'))).to.deep.equal(['tenant_x.sqlite3']);
  });
});

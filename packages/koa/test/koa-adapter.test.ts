import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import type { SqliteTenancy, TenantEntityManager } from '@mikro-tenant/sqlite';
import {
  fromHeader, fromSubdomain, fromUser, tenantAdmin, tenantErrorHandler, tenantMiddleware, TENANT_ERROR_STATUS,
  type TenantMiddlewareOptions,
} from '@mikro-tenant/koa';
import { TenantError } from '@mikro-tenant/core';
import { Tag } from '../../../test/fixtures/entities.js';
import { makeTenancy, tempDir, tick } from '../../../test/helpers.js';
import { HOSTILE_IDS } from '../../core/test/hostile-ids.js';

type State = { em?: TenantEntityManager; tenantId?: string; user?: { id: string; admin?: boolean } };

/**
 * Every file and folder under `dir`, relative and sorted: compared before and after to prove nothing was
 * written. Spare copies of the template, made in the background after any provisioning, are left out.
 */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map(entry => relative(dir, join(entry.parentPath, entry.name)))
    .filter(path => !/\.mikro-tenant\/spares(\/|$)/.test(path))
    .sort();
}

/** An app whose handler writes one row per request and reads back every row of the tenant. */
function appWith(tenancy: SqliteTenancy, options: TenantMiddlewareOptions, before?: Koa.Middleware<State>, seen?: TenantEntityManager[]): Koa<State> {
  const app = new Koa<State>();
  app.use(tenantErrorHandler());
  if (before) {
    app.use(before);
  }
  app.use(tenantMiddleware(tenancy, options));
  app.use(async ctx => {
    const em = ctx.state.em!;
    seen?.push(em);
    em.create(Tag, { label: ctx.state.tenantId! });
    await tick(Math.random() * 5);
    await em.flush();
    await tick(Math.random() * 5);
    const labels = (await tenancy.em.find(Tag, {})).map(t => t.label);
    ctx.body = { tenantId: ctx.state.tenantId, emTenant: em.tenantId, labels };
  });
  return app;
}

const userFromHeader: Koa.Middleware<State> = async (ctx, next) => {
  const id = ctx.get('x-user');
  if (id) {
    ctx.state.user = { id, admin: ctx.get('x-admin') === 'yes' };
  }
  await next();
};

describe('@mikro-tenant/koa', () => {
  let tenancy: SqliteTenancy;
  let dir: string;
  let cleanup: () => void;

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('mt-koa'));
    tenancy = await makeTenancy(dir);
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  describe('resolvers', () => {
    it('defaults to the logged-in user (ctx.state.user.id)', async () => {
      const res = await request(appWith(tenancy, {}, userFromHeader).callback()).get('/').set('x-user', 'ann');
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ tenantId: 'ann', emTenant: 'ann', labels: ['ann'] });
      expect(fromUser('org')({ state: { user: { org: 'acme' } } } as never)).to.equal('acme');
    });

    it('reads a header (X-Tenant-ID by default, name configurable)', async () => {
      const byDefault = await request(appWith(tenancy, { resolve: fromHeader() }).callback()).get('/').set('X-Tenant-ID', 'hdr');
      expect(byDefault.body.tenantId).to.equal('hdr');
      const custom = await request(appWith(tenancy, { resolve: fromHeader('X-Org') }).callback()).get('/').set('x-org', 'org7');
      expect(custom.body.tenantId).to.equal('org7');
    });

    it('reads the subdomain', async () => {
      const app = appWith(tenancy, { resolve: fromSubdomain('example.com') });
      expect((await request(app.callback()).get('/').set('Host', 'acme.example.com')).body.tenantId).to.equal('acme');
      expect((await request(app.callback()).get('/').set('Host', 'example.com')).status).to.equal(401);
      expect((await request(app.callback()).get('/').set('Host', 'acme.evil.com')).status).to.equal(401);
      // only a direct subdomain names a tenant: no 400 for the dotted "www.acme", and no tenant "www"
      expect((await request(app.callback()).get('/').set('Host', 'www.acme.example.com')).status).to.equal(401);
      const koaDefault = appWith(tenancy, { resolve: fromSubdomain() });
      expect((await request(koaDefault.callback()).get('/').set('Host', 'beta.example.com')).body.tenantId).to.equal('beta');
      expect((await request(koaDefault.callback()).get('/').set('Host', 'www.beta.example.com')).status).to.equal(401);
      expect(readdirSync(join(dir, 'tenants')).filter(f => f.endsWith('.sqlite3')).sort())
        .to.deep.equal(['tenant_acme.sqlite3', 'tenant_beta.sqlite3']);
    });

    it('takes any function (sync or async)', async () => {
      const app = appWith(tenancy, { resolve: async ctx => ctx.query.t });
      expect((await request(app.callback()).get('/?t=fn1')).body.tenantId).to.equal('fn1');
    });

    it('goes on without a tenant scope when not required', async () => {
      const app = new Koa<State>();
      app.use(tenantErrorHandler());
      app.use(tenantMiddleware(tenancy, { resolve: fromHeader(), required: false }));
      app.use(async ctx => {
        const hasEm = ctx.state.em !== undefined;
        ctx.body = { hasEm, tags: await tenancy.em.count(Tag, {}) }; // throws ERR_NO_TENANT_CONTEXT without a scope
      });
      const without = await request(app.callback()).get('/');
      expect(without.status).to.equal(401);
      expect(without.body.error.code).to.equal('ERR_NO_TENANT_CONTEXT');
      expect(without.body.error.message).to.not.contain('tenancy.run');
      const withTenant = await request(app.callback()).get('/').set('X-Tenant-ID', 'opt');
      expect(withTenant.body).to.deep.equal({ hasEm: true, tags: 0 });
    });

    it('validates options eagerly with ERR_INVALID_OPTION', () => {
      const invalid: [string, () => unknown][] = [
        ['resolve', () => tenantMiddleware(tenancy, { resolve: 'x-tenant-id' as never })],
        ['required', () => tenantMiddleware(tenancy, { required: 'no' as never })],
        ['adminSwitch', () => tenantMiddleware(tenancy, { adminSwitch: { isSuperuser: () => true } as never })],
        ['tenantAdmin set', () => tenantAdmin(tenancy, { isSuperuser: () => true, get: () => undefined } as never)],
        ['tenantAdmin prefix', () => tenantAdmin(tenancy, { isSuperuser: () => true, get: () => undefined, set: () => undefined, prefix: 'admin/' })],
        ['fromUser', () => fromUser('')],
        ['fromHeader', () => fromHeader('X Tenant')],
        ['fromSubdomain', () => fromSubdomain('.example.com')],
      ];
      for (const [name, make] of invalid) {
        expect(make, name).to.throw(TenantError).with.property('code', 'ERR_INVALID_OPTION');
      }
    });
  });

  describe('errors answer JSON with a status from one table', () => {
    it('400 for an invalid id (every hostile id), and nothing is written to disk', async () => {
      const app = appWith(tenancy, { resolve: ctx => ctx.state.user?.id }, async (ctx, next) => {
        ctx.state.user = { id: JSON.parse(ctx.get('x-raw')) as string };
        await next();
      });
      const before = filesUnder(dir);
      for (const id of HOSTILE_IDS.filter(i => typeof i === 'string' && i !== '') as string[]) {
        const res = await request(app.callback()).get('/').set('x-raw', JSON.stringify(id).replace(/[^\x20-\x7e]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
        expect(res.status, JSON.stringify(id)).to.equal(400);
        expect(res.body.error.code).to.equal('ERR_INVALID_TENANT_ID');
      }
      expect(filesUnder(dir)).to.deep.equal(before);
      for (const traversal of ['../x', '../../x', '..%2Fx']) {
        const res = await request(appWith(tenancy, { resolve: fromHeader() }).callback()).get('/').set('X-Tenant-ID', traversal);
        expect(res.status, traversal).to.equal(400);
        expect(res.body.error.code).to.equal('ERR_INVALID_TENANT_ID');
      }
      expect(filesUnder(dir)).to.deep.equal(before);
    });

    it('404 for an unknown tenant when auto-creation is off', async () => {
      const strict = await makeTenancy(join(dir, 'strict'), { autoCreate: false });
      try {
        await strict.createTenant('somebody');
        const before = filesUnder(dir);
        const app = appWith(strict, { resolve: fromHeader() });
        const res = await request(app.callback()).get('/').set('X-Tenant-ID', 'nobody');
        expect(res.status).to.equal(404);
        expect(res.body.error.code).to.equal('ERR_TENANT_NOT_FOUND');
        // The client is told the fact, not which API the developer should call.
        expect(res.body.error.message).to.equal('Tenant "nobody" does not exist.');
        expect(existsSync(strict.files.path('nobody'))).to.equal(false);
        expect(filesUnder(dir)).to.deep.equal(before);
        expect((await request(app.callback()).get('/').set('X-Tenant-ID', 'somebody')).body.labels).to.deep.equal(['somebody']);
      } finally {
        await strict.close();
      }
    });

    it('401 when a tenant is required and the request names none', async () => {
      const res = await request(appWith(tenancy, {}, userFromHeader).callback()).get('/');
      expect(res.status).to.equal(401);
      expect(res.body).to.have.nested.property('error.code', 'ERR_NO_TENANT_CONTEXT');
    });

    it('maps TenantErrors thrown by handlers (e.g. a tenant entity used with no tenant)', async () => {
      const app = new Koa();
      app.use(tenantErrorHandler());
      app.use(async ctx => { ctx.body = await tenancy.em.find(Tag, {}); });
      const res = await request(app.callback()).get('/');
      expect(res.status).to.equal(TENANT_ERROR_STATUS.ERR_NO_TENANT_CONTEXT);
      expect(res.body.error.code).to.equal('ERR_NO_TENANT_CONTEXT');
    });

    it('503 with a generic message for server-side failures, emitted on the app', async () => {
      const closed = await makeTenancy(join(dir, 'closed'));
      await closed.close();
      const app = appWith(closed, { resolve: fromHeader() });
      const emitted: unknown[] = [];
      app.on('error', error => emitted.push(error));
      const res = await request(app.callback()).get('/').set('X-Tenant-ID', 'ann');
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal('ERR_TENANCY_CLOSED');
      expect(res.body.error.message).to.not.match(/init\(\)/); // the library's hint is for developers, not clients
      expect(emitted).to.have.length(1);
      expect(emitted[0]).to.be.instanceOf(TenantError).with.property('code', 'ERR_TENANCY_CLOSED');
    });
  });

  it('keeps 50 tenants apart under concurrent requests with awaits inside handlers', async () => {
    const seen: TenantEntityManager[] = [];
    const app = appWith(tenancy, { resolve: fromHeader() }, undefined, seen);
    const server = app.callback();
    const tenants = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const responses = await Promise.all(tenants.flatMap(id => [1, 2, 3].map(() => request(server).get('/').set('X-Tenant-ID', id))));
    let mismatches = 0;
    for (const res of responses) {
      expect(res.status).to.equal(200);
      const { tenantId, emTenant, labels } = res.body as { tenantId: string; emTenant: string; labels: string[] };
      if (emTenant !== tenantId || labels.some(label => label !== tenantId)) {
        mismatches++;
      }
    }
    expect(mismatches).to.equal(0);
    expect(seen).to.have.length(150);
    expect(new Set(seen).size, 'one EntityManager per request').to.equal(150);
    for (const id of tenants) {
      expect(await tenancy.run(id, em => em.count(Tag, {}))).to.equal(3);
    }
  });

  describe('admin switch', () => {
    function adminApp() {
      const switches = new Map<string, string>(); // session (user id) -> tenant
      const adminSwitch = {
        isSuperuser: (ctx: Koa.Context) => (ctx.state as State).user?.admin === true,
        get: (ctx: Koa.Context) => switches.get((ctx.state as State).user!.id),
        set: (ctx: Koa.Context, tenantId: string | undefined) => {
          const id = (ctx.state as State).user!.id;
          if (tenantId) { switches.set(id, tenantId); } else { switches.delete(id); }
        },
      };
      const app = new Koa<State>();
      app.use(userFromHeader);
      app.use(tenantAdmin(tenancy, adminSwitch));
      app.use(tenantMiddleware(tenancy, { adminSwitch }));
      app.use(async ctx => {
        ctx.body = { tenantId: ctx.state.tenantId, labels: (await ctx.state.em!.find(Tag, {})).map(t => t.label) };
      });
      return { server: app.callback(), switches };
    }

    beforeEach(async () => {
      for (const id of ['root', 'ann', 'bob']) {
        await tenancy.run(id, async em => {
          em.create(Tag, { label: `${id}'s` });
          await em.flush();
        });
      }
    });

    it('lets a superuser list tenants and switch only their own session to another tenant and back', async () => {
      const { server } = adminApp();
      const list = await request(server).get('/admin/tenants').set('x-user', 'root').set('x-admin', 'yes');
      expect(list.status).to.equal(200);
      expect(list.body.tenants.map((t: { id: string }) => t.id)).to.deep.equal(['ann', 'bob', 'root']);
      expect(list.body.tenants[0].sizeBytes).to.be.greaterThan(0);

      expect((await request(server).post('/admin/tenants/ann/switch').set('x-user', 'root').set('x-admin', 'yes')).status).to.equal(204);
      expect((await request(server).get('/').set('x-user', 'root').set('x-admin', 'yes')).body).to.deep.equal({ tenantId: 'ann', labels: ["ann's"] });
      // another superuser and an ordinary user are not affected
      expect((await request(server).get('/').set('x-user', 'bob').set('x-admin', 'yes')).body.tenantId).to.equal('bob');
      expect((await request(server).get('/').set('x-user', 'ann')).body.tenantId).to.equal('ann');
      expect((await request(server).post('/admin/tenants/switch/clear').set('x-user', 'root').set('x-admin', 'yes')).status).to.equal(204);
      expect((await request(server).get('/').set('x-user', 'root').set('x-admin', 'yes')).body.tenantId).to.equal('root');
    });

    it('refuses everyone else with 403, and a switched non-superuser stays on their own tenant', async () => {
      const { server, switches } = adminApp();
      for (const [method, path] of [['get', '/admin/tenants'], ['post', '/admin/tenants/bob/switch'], ['post', '/admin/tenants/switch/clear']] as const) {
        const res = await request(server)[method](path).set('x-user', 'ann');
        expect(res.status, path).to.equal(403);
        expect(res.body.error.code).to.equal('ERR_FORBIDDEN');
      }
      switches.set('ann', 'bob'); // a stale switch of a demoted superuser is ignored
      expect((await request(server).get('/').set('x-user', 'ann')).body.tenantId).to.equal('ann');
    });

    it('answers 400 for an invalid id and 404 for an unknown tenant, creating nothing', async () => {
      const { server, switches } = adminApp();
      const before = filesUnder(dir);
      for (const id of ['..%2F..%2Fetc', 'UPPER', '%00', '.hidden', 'a%20b', '%E0%A4%A']) {
        const res = await request(server).post(`/admin/tenants/${id}/switch`).set('x-user', 'root').set('x-admin', 'yes');
        expect(res.status, id).to.equal(400);
        expect(res.body.error.code).to.equal('ERR_INVALID_TENANT_ID');
      }
      const unknown = await request(server).post('/admin/tenants/ghost/switch').set('x-user', 'root').set('x-admin', 'yes');
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error.code).to.equal('ERR_TENANT_NOT_FOUND');
      expect(filesUnder(dir)).to.deep.equal(before);
      expect(switches.size).to.equal(0);
    });

    it('refuses a switch or clear a browser says comes from another site (403), and takes same-origin ones', async () => {
      const { server, switches } = adminApp();
      const crossSite: Array<[string, string]> = [
        ['origin', 'http://evil.example'], ['origin', 'null'], ['sec-fetch-site', 'cross-site'], ['sec-fetch-site', 'same-site'],
      ];
      for (const path of ['/admin/tenants/bob/switch', '/admin/tenants/switch/clear']) {
        for (const [header, value] of crossSite) {
          switches.set('root', 'ann');
          const res = await request(server).post(path).set('x-user', 'root').set('x-admin', 'yes').set(header, value);
          expect(res.status, `${path} ${header}: ${value}`).to.equal(403);
          expect(res.body.error.code).to.equal('ERR_FORBIDDEN');
          expect(switches.get('root'), `${path} ${header}: ${value}`).to.equal('ann');
        }
      }
      switches.clear();
      const sameOrigin = await request(server).post('/admin/tenants/bob/switch').set('x-user', 'root').set('x-admin', 'yes')
        .set('host', 'notes.example').set('origin', 'http://notes.example').set('sec-fetch-site', 'same-origin');
      expect(sameOrigin.status).to.equal(204);
      expect(switches.get('root')).to.equal('bob');
      // Reading the list sends nothing anywhere: GET stays open to the superuser from anywhere the session reaches.
      expect((await request(server).get('/admin/tenants').set('x-user', 'root').set('x-admin', 'yes').set('origin', 'http://evil.example')).status).to.equal(200);
    });

    it('answers 404 for a switch that outlived its tenant, without creating the tenant again', async () => {
      const { server } = adminApp();
      expect((await request(server).post('/admin/tenants/bob/switch').set('x-user', 'root').set('x-admin', 'yes')).status).to.equal(204);
      expect(await tenancy.deleteTenant('bob')).to.equal(true);
      const before = filesUnder(dir);
      const res = await request(server).get('/').set('x-user', 'root').set('x-admin', 'yes');
      expect(res.status).to.equal(404);
      expect(res.body.error.code).to.equal('ERR_TENANT_NOT_FOUND');
      expect(await tenancy.tenantExists('bob')).to.equal(false);
      expect(filesUnder(dir)).to.deep.equal(before);
      expect((await request(server).post('/admin/tenants/switch/clear').set('x-user', 'root').set('x-admin', 'yes')).status).to.equal(204);
      expect((await request(server).get('/').set('x-user', 'root').set('x-admin', 'yes')).body).to.deep.equal({ tenantId: 'root', labels: ["root's"] });
    });
  });
});

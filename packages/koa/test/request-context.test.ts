import Koa from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import { RequestContext, type MikroORM } from '@mikro-orm/core';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { fromHeader, tenantErrorHandler, tenantMiddleware } from '@mikro-tenant/koa';
import { User } from '../../../test/fixtures/entities.js';
import { IDIOMS } from '../../../test/fixtures/idioms.js';
import { createSharedSchema, makeTenancy, tempDir } from '../../../test/helpers.js';

/**
 * An app as MikroORM's docs set one up (a RequestContext per request, first), then the tenant middleware;
 * `POST /idiom/<n>?text=..&author=..` runs idiom n of test/fixtures/idioms.ts and answers what it read.
 */
function idiomsApp(tenancy: SqliteTenancy): Koa {
  const orm = tenancy.orm as unknown as MikroORM;
  const app = new Koa();
  app.on('error', () => undefined); // the 500 of raw SQL without a tenant is expected
  app.use((_ctx, next) => RequestContext.create(tenancy.orm.em, next));
  app.use(tenantErrorHandler());
  app.use(tenantMiddleware(tenancy, { resolve: fromHeader(), required: false }));
  app.use(async ctx => {
    const [, idiom] = IDIOMS[Number(ctx.path.split('/')[2])]!;
    ctx.body = { notes: await idiom(orm, String(ctx.query.text), String(ctx.query.author)) };
  });
  return app;
}

describe('@mikro-tenant/koa: MikroORM\'s own idioms in a request give the tenant\'s EntityManager', () => {
  let tenancy: SqliteTenancy;
  let cleanup: () => void;
  let app: Koa;

  beforeEach(async () => {
    const tmp = tempDir('mt-koa-idioms');
    cleanup = tmp.cleanup;
    tenancy = await makeTenancy(tmp.dir);
    await createSharedSchema(tenancy);
    await tenancy.orm.em.fork().insertMany(User, [{ id: 'u1', name: 'Sue' }, { id: 'u2', name: 'Max' }]);
    app = idiomsApp(tenancy);
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  IDIOMS.forEach(([name], i) => {
    it(`${name}: inside the tenant middleware it reads and writes the request's tenant (concurrent requests each their own)`, async () => {
      const post = (tenant: string, text: string, author: string) =>
        request(app.callback()).post(`/idiom/${i}`).query({ text, author }).set('X-Tenant-ID', tenant);
      const [alpha, beta] = await Promise.all([post('alpha', 'a1', 'u1'), post('beta', 'b1', 'u2')]);
      expect(alpha.status, JSON.stringify(alpha.body)).to.equal(200);
      expect(alpha.body.notes).to.deep.equal(['Sue: a1']);
      expect(beta.body.notes).to.deep.equal(['Max: b1']);
      expect((await post('alpha', 'a2', 'u2')).body.notes).to.deep.equal(['Sue: a1', 'Max: a2']);
    });

    it(`${name}: without a tenant the request fails with ERR_NO_TENANT_CONTEXT, and no tenant is touched`, async () => {
      const res = await request(app.callback()).post(`/idiom/${i}`).query({ text: 'x', author: 'u1' });
      if (name === 'orm.em.execute()') {
        // Raw SQL names no entity: it fails in the shared database, which has no note table.
        expect(res.status).to.equal(500);
      } else {
        expect(res.status).to.equal(401);
        expect(res.body.error.code).to.equal('ERR_NO_TENANT_CONTEXT');
      }
      expect(tenancy.openTenants).to.equal(0);
    });
  });
});

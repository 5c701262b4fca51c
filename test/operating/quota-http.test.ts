import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import Koa from 'koa';
import request from 'supertest';
import type { EntityManager } from '@mikro-orm/core';
import { isTenantError, type Tenancy } from '@mikro-tenant/core';
import { fromHeader, tenantErrorHandler, tenantMiddleware } from '@mikro-tenant/koa';
import { Note } from '../fixtures/entities.js';
import { errorOf } from '../helpers.js';
import { forEachStrategy } from './fixture.js';

/** POST /notes writes 16 notes (about 4 KiB) in one flush; GET /notes counts them. */
function app(tenancy: Tenancy): Koa<{ em?: EntityManager }> {
  const koa = new Koa<{ em?: EntityManager }>();
  koa.use(tenantErrorHandler());
  koa.use(tenantMiddleware(tenancy, { resolve: fromHeader('X-Tenant-ID') }));
  koa.use(async ctx => {
    const em = ctx.state.em!;
    if (ctx.method === 'POST') {
      for (let i = 0; i < 16; i++) {
        em.create(Note, { text: randomBytes(120).toString('hex') });
      }
      await em.flush();
      ctx.status = 201;
    } else {
      ctx.body = { count: await em.count(Note, {}) };
    }
  });
  return koa;
}

forEachStrategy('quotas over HTTP and through flush()', fixture => {
  it('flush() past the quota rejects with the TenantError itself (not a wrapped DriverException); Koa answers 413 with its code', async () => {
    const tenancy = await fixture().make({ quota: { maxBytes: 128 * 1024, checkIntervalMs: 0 } });
    const server = app(tenancy as unknown as Tenancy).callback();
    let created = 0;
    let refused: request.Response | undefined;
    for (let i = 0; i < 400 && !refused; i++) {
      const response = await request(server).post('/notes').set('X-Tenant-ID', 'full');
      if (response.status === 201) {
        created++;
      } else {
        refused = response;
      }
    }
    expect(refused?.status, refused?.text).to.equal(413);
    expect(refused!.body.error.code).to.equal('ERR_TENANT_QUOTA_EXCEEDED');
    const read = await request(server).get('/notes').set('X-Tenant-ID', 'full');
    expect(read.status).to.equal(200);
    expect(read.body.count).to.equal(created * 16);
    const error = await errorOf(() => tenancy.run('full', async em => { em.create(Note, { text: 'x'.repeat(200) }); await em.flush(); }));
    expect(isTenantError(error, 'ERR_TENANT_QUOTA_EXCEEDED'), String(error)).to.equal(true);
  });
});

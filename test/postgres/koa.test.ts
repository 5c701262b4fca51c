import Koa from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import { fromHeader, tenantErrorHandler, tenantMiddleware } from '@mikro-tenant/koa';
import { Tag } from '../fixtures/entities.js';
import { tick } from '../helpers.js';
import { schemaNames, withPgTenancy } from './helpers.js';

describe('postgres: the Koa adapter over a schema-per-tenant tenancy', () => {
  const fixture = withPgTenancy({}, { pool: { min: 0, max: 3 } });

  function app(): Koa {
    const koa = new Koa();
    koa.use(tenantErrorHandler());
    koa.use(tenantMiddleware(fixture.tenancy, { resolve: fromHeader() }));
    koa.use(async ctx => {
      const em = ctx.state.em as typeof fixture.tenancy.em;
      em.create(Tag, { label: ctx.state.tenantId as string });
      await tick(Math.random() * 5);
      await em.flush();
      const labels = (await fixture.tenancy.em.find(Tag, {})).map(t => t.label);
      ctx.body = { tenantId: ctx.state.tenantId, labels };
    });
    return koa;
  }

  it('concurrent requests of several tenants each see their own rows only', async () => {
    const server = app().callback();
    const tenants = ['acme', 'beta', 'gamma', 'delta'];
    const responses = await Promise.all(tenants.flatMap(id => Array.from({ length: 5 }, () => request(server).get('/').set('X-Tenant-ID', id))));
    for (const response of responses) {
      expect(response.status).to.equal(200);
      const body = response.body as { tenantId: string; labels: string[] };
      expect(body.labels.every(label => label === body.tenantId), JSON.stringify(body)).to.equal(true);
    }
    expect(await schemaNames(fixture.db)).to.deep.equal(tenants.map(id => `tenant_${id}`).sort());
  });

  it('answers an id that does not fit a schema name with 400 ERR_INVALID_TENANT_ID, creating nothing', async () => {
    const response = await request(app().callback()).get('/').set('X-Tenant-ID', 'x'.repeat(60));
    expect(response.status).to.equal(400);
    expect(response.body).to.have.nested.property('error.code', 'ERR_INVALID_TENANT_ID');
    expect(await schemaNames(fixture.db)).to.deep.equal([]);
  });
});

import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { tenantAdminUi, tenantMiddleware, type TenantAdminUiOptions } from '@mikro-tenant/koa';
import { Tag } from '../../../test/fixtures/entities.js';
import { errorOf, makeTenancy, tempDir } from '../../../test/helpers.js';
import { HOSTILE_IDS } from '../../core/test/hostile-ids.js';
import { escapeHtml, html } from '../src/html.js';

type State = { user?: { id: string; admin: boolean } };
type Agent = ReturnType<typeof request.agent>;

const HOSTILE_ROW = '<img src=x onerror="globalThis.pwned=1">&\'';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map(entry => relative(dir, join(entry.parentPath, entry.name)))
    .filter(path => !/\.mikro-tenant\/spares(\/|$)/.test(path))
    .sort();
}

/** The ids in the tenant table of a list page, unescaped. */
function listedIds(page: string): string[] {
  return [...page.matchAll(/<td class="id">([^<]*)<\/td>/g)].map(m => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&amp;/g, '&'));
}

function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  expect(match, 'the page has a CSRF field').to.not.equal(null);
  return match![1]!;
}

describe('tenantAdminUi: the tenant admin page', () => {
  let tenancy: SqliteTenancy;
  let dir: string;
  let cleanup: () => void;
  let switches: Map<string, string>;
  let server: ReturnType<Koa['callback']>;
  let listCalls: unknown[];

  function build(options: Partial<TenantAdminUiOptions> = {}) {
    switches = new Map();
    const adminSwitch = {
      isSuperuser: (ctx: Koa.Context) => (ctx.state as State).user?.admin === true,
      get: (ctx: Koa.Context) => switches.get((ctx.state as State).user!.id),
      set: (ctx: Koa.Context, tenantId: string | undefined) => {
        const id = (ctx.state as State).user!.id;
        if (tenantId) { switches.set(id, tenantId); } else { switches.delete(id); }
      },
    };
    const app = new Koa<State>();
    app.use(async (ctx, next) => {
      const id = ctx.get('x-user');
      if (id) {
        ctx.state.user = { id, admin: ctx.get('x-admin') === 'yes' };
      }
      await next();
    });
    app.use(tenantAdminUi(tenancy, { ...adminSwitch, ...options }));
    app.use(tenantMiddleware(tenancy, { adminSwitch }));
    app.use(async ctx => {
      ctx.body = { tenantId: (ctx.state as { tenantId?: string }).tenantId, labels: (await tenancy.em.find(Tag, {})).map(t => t.label) };
    });
    server = app.callback();
  }

  /** A superuser's browser: cookies kept, the CSRF token read from the list page. */
  async function superuser(): Promise<{ agent: Agent; csrf: string }> {
    const agent = request.agent(server);
    const page = await agent.get('/admin').set('x-user', 'root').set('x-admin', 'yes');
    expect(page.status).to.equal(200);
    return { agent, csrf: csrfOf(page.text) };
  }

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir('mt-admin-ui'));
    tenancy = await makeTenancy(dir);
    listCalls = [];
    const list = tenancy.listTenants.bind(tenancy);
    tenancy.listTenants = page => {
      listCalls.push(page);
      return list(page);
    };
    for (const id of ['root', 'ann', 'bob']) {
      await tenancy.run(id, async em => {
        em.create(Tag, { label: `${id}'s` });
        await em.flush();
      });
    }
    build();
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('escapes the five HTML characters and every value of a template, nested templates excepted', () => {
    expect(escapeHtml('<a href="x" title=\'y\'>&</a>')).to.equal('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(html`<p title="${'"><script>'}">${['<b>', html`<i>${'<u>'}</i>`]}${null}${undefined}${false}${0}</p>`.value)
      .to.equal('<p title="&quot;&gt;&lt;script&gt;">&lt;b&gt;<i>&lt;u&gt;</i>0</p>');
  });

  it('answers a 403 page to everyone but superusers, on every route and method, changing nothing', async () => {
    const before = filesUnder(dir);
    for (const user of [{}, { 'x-user': 'ann' }, { 'x-user': 'ann', 'x-admin': 'no' }]) {
      for (const [method, path] of [['get', '/admin'], ['get', '/admin/'], ['get', '/admin/delete?tenant=bob'], ['post', '/admin/switch'], ['post', '/admin/switch/clear'], ['post', '/admin/delete']] as const) {
        const res = await request(server)[method](path).set(user).type('form').send(method === 'post' ? { tenant: 'bob', confirm: 'bob' } : {});
        expect(res.status, `${method} ${path} ${JSON.stringify(user)}`).to.equal(403);
        expect(res.type).to.equal('text/html');
        expect(res.text).to.contain('Only superusers');
        expect(res.headers['content-security-policy']).to.contain("script-src 'self'");
      }
    }
    expect(await tenancy.tenantExists('bob')).to.equal(true);
    expect(filesUnder(dir)).to.deep.equal(before);
    expect(switches.size).to.equal(0);
  });

  it('sets a strict Content-Security-Policy and serves its style and script as files', async () => {
    const { agent } = await superuser();
    const page = await agent.get('/admin').set('x-user', 'root').set('x-admin', 'yes');
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain("style-src 'self'").and.contain("frame-ancestors 'none'");
    expect(csp).to.not.contain('unsafe-inline');
    expect(page.text).to.not.match(/<script>|<style|style="|\son[a-z]+=/i); // nothing inline for the policy to block
    const script = await request(server).get('/admin/admin.js');
    expect([script.status, script.type]).to.deep.equal([200, 'text/javascript']);
    const style = await request(server).get('/admin/admin.css');
    expect([style.status, style.type]).to.deep.equal([200, 'text/css']);
  });

  it('lists the registry a page at a time (one registry page per view, never the whole list), with size, dates, schema version and pending migrations', async () => {
    for (let i = 0; i < 22; i++) {
      await tenancy.createTenant(`t${String(i).padStart(2, '0')}`);
    }
    build({ pageSize: 10 });
    const { agent } = await superuser();
    const seen: string[] = [];
    let path: string | undefined = '/admin';
    listCalls.length = 0;
    while (path) {
      const page: request.Response = await agent.get(path).set('x-user', 'root').set('x-admin', 'yes');
      expect(page.status).to.equal(200);
      const ids = listedIds(page.text);
      expect(ids.length).to.be.at.most(10);
      seen.push(...ids);
      const next: string | undefined = /<a href="([^"]+)" rel="next">/.exec(page.text)?.[1];
      path = next?.replace(/&amp;/g, '&');
    }
    expect(seen).to.deep.equal((await tenancy.registry.list()).map(r => r.tenantId));
    expect(seen).to.have.length(25);
    expect(listCalls).to.have.length(3);
    for (const call of listCalls) {
      expect(call).to.have.property('limit', 11); // a page and one more row, to know whether a next page exists
    }
    const first = (await agent.get('/admin').set('x-user', 'root').set('x-admin', 'yes')).text;
    expect(first).to.match(/<td class="id">ann<\/td>\s*<td data-label="Size">\d+\.\d KiB<\/td>\s*<td data-label="Quota">none<\/td>\s*<td data-label="Cost" class="cost"><span [^>]*>\d+ q, \d+\.\d ms<\/span><\/td>\s*<td data-label="Created"><time datetime="\d{4}-[^"]+">[^<]+<\/time><\/td>\s*<td data-label="Modified"><time datetime=/);
    expect(first).to.match(/<td class="id">ann<\/td>(?:(?!<\/tr>)[\s\S])*<td data-label="Pending">0<\/td>\s*<td><div class="actions">/); // pending migrations
  });

  it('shows each listed tenant\'s quota (the per-tenant answer included) and its statements over the statistics window', async () => {
    await tenancy.close();
    cleanup();
    ({ dir, cleanup } = tempDir('mt-admin-ui'));
    tenancy = await makeTenancy(dir, { quota: { maxBytes: id => (id === 'ann' ? 5 * 1024 * 1024 : undefined) } });
    await tenancy.createTenant('bob');
    for (let i = 0; i < 4; i++) {
      await tenancy.run('ann', em => em.fork().find(Tag, {}));
    }
    build();
    const { agent } = await superuser();
    const page = (await agent.get('/admin').set('x-user', 'root').set('x-admin', 'yes')).text;
    const cells = (id: string) => new RegExp(`<td class="id">${id}</td>\\s*<td data-label="Size">[^<]*</td>\\s*<td data-label="Quota">([^<]*)</td>\\s*<td data-label="Cost" class="cost"><span [^>]*>(\\d+) q, `).exec(page);
    const ann = cells('ann');
    const bob = cells('bob');
    expect(ann, 'ann\'s row').to.not.equal(null);
    expect(bob, 'bob\'s row').to.not.equal(null);
    expect(ann![1]).to.equal('5.0 MiB');
    expect(bob![1]).to.equal('none');
    // Both were created and checked for pending migrations alike (statements of theirs too); ann ran 4 finds more.
    expect(Number(ann![2])).to.be.at.least(Number(bob![2]) + 4);
    expect(await tenancy.tenantUsage('ann')).to.include({ quotaBytes: 5 * 1024 * 1024 });
    expect(await tenancy.tenantUsage('bob')).to.not.have.property('quotaBytes');
  });

  it('searches by id prefix, reading only the range of the registry that matches', async () => {
    for (const id of ['acme', 'acme-b', 'acme_c', 'acmf', 'ab', 'acm', 'b']) {
      await tenancy.createTenant(id);
    }
    const { agent } = await superuser();
    const search = async (q: string) => listedIds((await agent.get('/admin').query({ q }).set('x-user', 'root').set('x-admin', 'yes')).text);
    expect(await search('acme')).to.deep.equal(['acme', 'acme-b', 'acme_c']);
    expect(await search('acm')).to.deep.equal(['acm', 'acme', 'acme-b', 'acme_c', 'acmf']);
    expect(await search('b')).to.deep.equal(['b', 'bob']);
    expect(await search('zzz')).to.deep.equal([]);
    expect(await search('0')).to.deep.equal([]);
    const hostile = await agent.get('/admin').query({ q: '<script>x</script>' }).set('x-user', 'root').set('x-admin', 'yes');
    expect(hostile.status).to.equal(200);
    expect(hostile.text).to.contain('value="&lt;script&gt;x&lt;/script&gt;"').and.not.contain('<script>x');
  });

  it('shows ids from the registry as text, a row holding markup included', async () => {
    await tenancy.registry.register({ tenantId: HOSTILE_ROW, location: 'nowhere.sqlite3', schemaVersion: '<b>v1</b>' });
    const { agent } = await superuser();
    const page = await agent.get('/admin').set('x-user', 'root').set('x-admin', 'yes');
    expect(page.status).to.equal(200);
    expect(listedIds(page.text)).to.include(HOSTILE_ROW);
    expect(page.text).to.not.contain('<img').and.not.contain('<b>v1');
    expect(page.text).to.contain('&lt;img src=x onerror=&quot;globalThis.pwned=1&quot;&gt;&amp;&#39;');
    expect(page.text).to.contain(`tenant=${encodeURIComponent(HOSTILE_ROW).replace(/'/g, '&#39;')}`);
  });

  it('switches to a tenant and back with the page\'s forms, showing the switch on every page', async () => {
    const { agent, csrf } = await superuser();
    const as = (r: request.Test) => r.set('x-user', 'root').set('x-admin', 'yes');
    const switched = await as(agent.post('/admin/switch')).type('form').send({ csrf, tenant: 'ann' });
    expect([switched.status, switched.headers.location]).to.deep.equal([303, '/admin?notice=switched']);
    expect(switches.get('root')).to.equal('ann');
    expect((await as(agent.get('/')).expect(200)).body).to.deep.equal({ tenantId: 'ann', labels: ['ann\'s'] });
    for (const path of ['/admin', '/admin/delete?tenant=bob', '/admin?q=b']) {
      expect((await as(agent.get(path))).text, path).to.contain('<code id="switched-tenant">ann</code>');
    }
    const back = await as(agent.post('/admin/switch/clear')).type('form').send({ csrf });
    expect([back.status, back.headers.location]).to.deep.equal([303, '/admin?notice=back']);
    expect(switches.has('root')).to.equal(false);
    expect((await as(agent.get('/admin'))).text).to.contain('You see your own data.').and.not.contain('switched-tenant');
    expect((await as(agent.get('/')).expect(200)).body).to.deep.equal({ tenantId: 'root', labels: ['root\'s'] });
    const missing = await as(agent.post('/admin/switch')).type('form').send({ csrf, tenant: 'nobody' });
    expect(missing.status).to.equal(404);
    expect(await tenancy.tenantExists('nobody')).to.equal(false);
  });

  it('deletes a tenant only after its id is typed, clearing a switch to it', async () => {
    const { agent, csrf } = await superuser();
    const as = (r: request.Test) => r.set('x-user', 'root').set('x-admin', 'yes');
    await as(agent.post('/admin/switch')).type('form').send({ csrf, tenant: 'bob' }).expect(303);
    const confirm = await as(agent.get('/admin/delete?tenant=bob'));
    expect(confirm.status).to.equal(200);
    expect(confirm.text).to.contain('data-confirm="bob"').and.contain('name="confirm"');
    for (const typed of [undefined, '', 'bo', 'BOB', 'bob ', 'ann']) {
      const res = await as(agent.post('/admin/delete')).type('form').send({ csrf, tenant: 'bob', ...(typed === undefined ? {} : { confirm: typed }) });
      expect(res.status, String(typed)).to.equal(400);
      expect(await tenancy.tenantExists('bob')).to.equal(true);
    }
    const done = await as(agent.post('/admin/delete')).type('form').send({ csrf, tenant: 'bob', confirm: 'bob' });
    expect([done.status, done.headers.location]).to.deep.equal([303, '/admin?notice=deleted&tenant=bob']);
    expect(await tenancy.tenantExists('bob')).to.equal(false);
    expect(switches.has('root')).to.equal(false);
    const after = await as(agent.get(done.headers.location!));
    expect(after.text).to.contain('Deleted tenant &quot;bob&quot;.');
    expect(listedIds(after.text)).to.deep.equal(['ann', 'root']);
    expect((await as(agent.get('/admin/delete?tenant=bob'))).status).to.equal(404);
  });

  it('refuses POSTs without the CSRF token, with another token or from another site, and GETs of actions; nothing changes', async () => {
    const { agent, csrf } = await superuser();
    const as = (r: request.Test) => r.set('x-user', 'root').set('x-admin', 'yes');
    const before = filesUnder(dir);
    const attempts: [string, (r: request.Test) => request.Test][] = [
      ['no token', r => r.type('form').send({ tenant: 'ann', confirm: 'ann' })],
      ['wrong token', r => r.type('form').send({ csrf: 'x'.repeat(43), tenant: 'ann', confirm: 'ann' })],
      ['token of another browser', r => r.type('form').send({ csrf: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`, tenant: 'ann', confirm: 'ann' })],
      ['other origin', r => r.set('origin', 'https://evil.example').type('form').send({ csrf, tenant: 'ann', confirm: 'ann' })],
      ['cross-site fetch', r => r.set('sec-fetch-site', 'cross-site').type('form').send({ csrf, tenant: 'ann', confirm: 'ann' })],
      ['JSON body', r => r.send({ csrf, tenant: 'ann', confirm: 'ann' })],
    ];
    for (const [what, send] of attempts) {
      for (const path of ['/admin/switch', '/admin/delete', '/admin/switch/clear']) {
        const res = await send(as(agent.post(path)));
        expect(res.status, `${what} ${path}`).to.equal(403);
      }
    }
    // A fresh browser without the cookie cannot use a token it read elsewhere.
    const res = await as(request(server).post('/admin/delete')).type('form').send({ csrf, tenant: 'ann', confirm: 'ann' });
    expect(res.status).to.equal(403);
    for (const path of ['/admin/switch?tenant=ann', '/admin/switch/clear', '/admin/delete?tenant=ann&confirm=ann']) {
      const get = await as(agent.get(path));
      expect(get.status, path).to.be.oneOf(path.startsWith('/admin/delete') ? [200] : [405]);
    }
    expect((await as(agent.post('/admin'))).status).to.equal(405);
    expect(await tenancy.tenantExists('ann')).to.equal(true);
    expect(switches.size).to.equal(0);
    expect(filesUnder(dir)).to.deep.equal(before);
  });

  it('answers 400 for every hostile id sent to switch or delete, touching nothing', async () => {
    const { agent, csrf } = await superuser();
    const before = filesUnder(dir);
    for (const id of HOSTILE_IDS.filter((v): v is string => typeof v === 'string')) {
      for (const path of ['/admin/switch', '/admin/delete']) {
        const res = await agent.post(path).set('x-user', 'root').set('x-admin', 'yes').type('form').send({ csrf, tenant: id, confirm: id });
        expect(res.status, `${path} ${JSON.stringify(id).slice(0, 80)}`).to.be.oneOf(id.length > 5000 ? [400, 403] : [400]); // 403: a body over the form limit
        expect(res.text).to.not.contain(id.length > 1 && /[<>"'&]/.test(id) ? id : '\u0000never');
      }
      const confirm = await agent.get('/admin/delete').query({ tenant: id }).set('x-user', 'root').set('x-admin', 'yes');
      expect(confirm.status, JSON.stringify(id).slice(0, 80)).to.equal(400);
    }
    expect(switches.size).to.equal(0);
    expect(filesUnder(dir)).to.deep.equal(before);
  });

  it('validates its options at once with ERR_INVALID_OPTION', async () => {
    const base = { isSuperuser: () => true, get: () => undefined, set: () => undefined };
    for (const bad of [
      { prefix: 'admin' }, { prefix: '/admin/' }, { prefix: '' }, { prefix: 7 }, { appPath: 'http://evil' }, { appPath: '//evil' },
      { pageSize: 0 }, { pageSize: 501 }, { pageSize: 1.5 }, { isSuperuser: undefined }, { get: 'x' }, { set: null },
    ]) {
      expect(await errorOf(() => tenantAdminUi(tenancy, { ...base, ...bad } as never)), JSON.stringify(bad)).to.have.property('code', 'ERR_INVALID_OPTION');
    }
    expect(await errorOf(() => tenantAdminUi(tenancy, null as never))).to.have.property('code', 'ERR_INVALID_OPTION');
  });
});

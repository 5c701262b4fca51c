import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import request from 'supertest';
import { expect } from 'chai';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { createApp, type NotesApp } from '../src/app.js';
import { Session } from '../src/entities.js';
import type { Strategy } from '../src/strategy.js';
import { tempDir } from '../../../test/helpers.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres/helpers.js';
import { dropAppRole } from './app-role.js';

type Agent = ReturnType<typeof request.agent>;

/** Every file and folder under `dir`, relative and sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map(e => relative(dir, join(e.parentPath, e.name))).sort();
}

async function signupAndLogin(server: NotesApp['app'], username: string): Promise<{ agent: Agent; id: string }> {
  const agent = request.agent(server.callback());
  const signup = await agent.post('/signup').send({ username, password: 'correct horse' });
  expect(signup.status, JSON.stringify(signup.body)).to.equal(201);
  const login = await agent.post('/login').send({ username, password: 'correct horse' });
  expect(login.status).to.equal(200);
  return { agent, id: signup.body.id as string };
}

for (const strategy of ['sqlite', 'pg-schema', 'sqlite-row', 'pg-row'] as const satisfies Strategy[]) describe(`koa-notes example (through its HTTP API) on ${strategy}`, () => {
  let notes: NotesApp;
  let dir: string;
  let cleanup: () => void;
  let db: TestDatabase | undefined;

  beforeEach(async function () {
    this.timeout(60_000);
    ({ dir, cleanup } = tempDir('mt-notes'));
    db = strategy.startsWith('pg-') ? await createTestDatabase('notes') : undefined;
    notes = await createApp({ strategy, databaseUrl: db?.url, dataDir: dir, admin: { username: 'root', password: 'root password' } });
  });

  afterEach(async () => {
    await notes?.close();
    await db?.drop();
    if (db && strategy === 'pg-row') {
      await dropAppRole(db);
    }
    cleanup?.();
    // Nothing to close twice when a beforeEach failed half-way.
    notes = undefined as unknown as NotesApp;
    db = undefined;
    cleanup = undefined as unknown as () => void;
  });

  /** The tenant files (SQLite) or schemas (PostgreSQL): what must not change when a request is refused. */
  const storage = async (): Promise<string[]> => (strategy.endsWith('-row')
    ? (await notes.tenancy.listTenants()).map(t => t.tenantId)
    : db
    ? (await db.query<{ nspname: string }>("select nspname from pg_namespace where nspname like 'tenant\\_%' order by 1")).map(r => r.nspname)
    : filesUnder(dir));
  const sqlite = () => notes.tenancy as unknown as SqliteTenancy;

  it('signs up (provisioning the user database now), refuses a taken name and a wrong password', async () => {
    const server = notes.app.callback();
    const created = await request(server).post('/signup').send({ username: 'ann', password: 'correct horse' });
    expect(created.status).to.equal(201);
    expect(created.body.username).to.equal('ann');
    expect(await notes.tenancy.tenantExists(created.body.id)).to.equal(true);
    expect(await notes.tenancy.registry.exists(created.body.id)).to.equal(true);
    expect((await request(server).post('/signup').send({ username: 'ann', password: 'another one' })).status).to.equal(409);
    expect((await request(server).post('/signup').send({ username: 'x', password: 'short' })).status).to.equal(400);
    expect((await request(server).post('/login').send({ username: 'ann', password: 'wrong password' })).status).to.equal(401);
    expect((await request(server).get('/notes')).status).to.equal(401);
  });

  it('keeps two users\' notes apart, with author names read through the relation', async () => {
    const ann = await signupAndLogin(notes.app, 'ann');
    const bob = await signupAndLogin(notes.app, 'bob');
    expect((await ann.agent.post('/notes').send({ text: 'ann 1' })).status).to.equal(201);
    await ann.agent.post('/notes').send({ text: 'ann 2' });
    await bob.agent.post('/notes').send({ text: 'bob 1' });
    await bob.agent.post('/notes').send({ text: 'bob 2' });
    const bobNote = await bob.agent.post('/notes').send({ text: 'bob 3' });
    // Row strategies number every user's notes in one sequence.
    const bobId = bobNote.body.id as number;
    expect(bobId).to.equal(strategy.endsWith('-row') ? 5 : 3);
    expect((await ann.agent.get('/notes')).body.notes.map((n: { text: string; author: string }) => [n.text, n.author]))
      .to.deep.equal([['ann 1', 'ann'], ['ann 2', 'ann']]);
    expect((await bob.agent.get('/notes')).body.notes.map((n: { text: string; author: string }) => [n.text, n.author]))
      .to.deep.equal([['bob 1', 'bob'], ['bob 2', 'bob'], ['bob 3', 'bob']]);
    // bob's note exists only for bob
    expect((await ann.agent.delete(`/notes/${bobId}`)).status).to.equal(404);
    expect((await bob.agent.delete(`/notes/${bobId}`)).status).to.equal(204);
    expect((await bob.agent.get('/notes')).body.notes.map((n: { text: string }) => n.text)).to.deep.equal(['bob 1', 'bob 2']);
    expect((await ann.agent.get('/notes')).body.notes).to.have.length(2);
    expect((await ann.agent.delete('/notes/999')).status).to.equal(404);
    expect((await ann.agent.post('/logout')).status).to.equal(204);
    expect((await ann.agent.get('/notes')).status).to.equal(401);
  });

  it('deletes the account and its database (SQLite: the file with -wal/-shm; PostgreSQL: the schema)', async () => {
    const ann = await signupAndLogin(notes.app, 'ann');
    await ann.agent.post('/notes').send({ text: 'soon gone' });
    const file = strategy === 'sqlite' ? sqlite().files.path(ann.id) : undefined;
    if (file) {
      expect(existsSync(`${file}-wal`)).to.equal(true);
    }
    expect((await ann.agent.delete('/account')).status).to.equal(204);
    if (file) {
      expect(['', '-wal', '-shm'].filter(s => existsSync(file + s))).to.deep.equal([]);
    }
    expect(await notes.tenancy.tenantExists(ann.id)).to.equal(false);
    expect(await notes.tenancy.registry.exists(ann.id)).to.equal(false);
    expect((await ann.agent.post('/login').send({ username: 'ann', password: 'correct horse' })).status).to.equal(401);
  });

  it('lets the superuser switch to a user\'s notes and back, and refuses others', async () => {
    const ann = await signupAndLogin(notes.app, 'ann');
    await ann.agent.post('/notes').send({ text: 'private' });
    const root = request.agent(notes.app.callback());
    expect((await root.post('/login').send({ username: 'root', password: 'root password' })).status).to.equal(200);

    const list = await root.get('/admin/tenants');
    expect(list.status).to.equal(200);
    expect(list.body.tenants.map((t: { id: string }) => t.id)).to.include(ann.id);
    expect((await ann.agent.get('/admin/tenants')).status).to.equal(403);
    expect((await ann.agent.post(`/admin/tenants/${ann.id}/switch`)).status).to.equal(403);

    expect((await root.post(`/admin/tenants/${ann.id}/switch`)).status).to.equal(204);
    expect((await root.get('/notes')).body.notes.map((n: { text: string }) => n.text)).to.deep.equal(['private']);
    expect((await ann.agent.get('/notes')).body.notes.map((n: { text: string }) => n.text)).to.deep.equal(['private']);
    expect((await root.post('/admin/tenants/switch/clear')).status).to.equal(204);
    expect((await root.get('/notes')).body.notes).to.deep.equal([]);

    const tenantsBefore = (await root.get('/admin/tenants')).body.tenants.length;
    const storageBefore = await storage();
    for (const id of ['..%2F..%2Fetc', '..%2Fshared', 'Ann', '%2e%2e']) {
      const res = await root.post(`/admin/tenants/${id}/switch`);
      expect(res.status, id).to.equal(400);
      expect(res.body.error.code).to.equal('ERR_INVALID_TENANT_ID');
    }
    expect((await root.post('/admin/tenants/not-a-user/switch')).status).to.equal(404);
    expect((await root.get('/admin/tenants')).body.tenants.length).to.equal(tenantsBefore);
    expect(await storage()).to.deep.equal(storageBefore);
    expect(storageBefore).to.include(strategy === 'sqlite' ? join('tenants', `tenant_${ann.id}.sqlite3`) : strategy.endsWith('-row') ? ann.id : `tenant_${ann.id}`);
  });

  it('does not recreate a deleted user\'s database for a superuser still switched to it', async () => {
    const ann = await signupAndLogin(notes.app, 'ann');
    const root = request.agent(notes.app.callback());
    await root.post('/login').send({ username: 'root', password: 'root password' });
    expect((await root.post(`/admin/tenants/${ann.id}/switch`)).status).to.equal(204);
    expect((await ann.agent.delete('/account')).status).to.equal(204);
    const res = await root.get('/notes');
    expect(res.status).to.equal(404);
    expect(res.body.error.code).to.equal('ERR_TENANT_NOT_FOUND');
    expect(await notes.tenancy.tenantExists(ann.id)).to.equal(false);
    expect(await notes.tenancy.registry.exists(ann.id)).to.equal(false);
  });

  it('lets exactly one of several concurrent sign-ups with one username win (409 for the rest)', async () => {
    const server = notes.app.callback();
    const responses = await Promise.all([1, 2, 3, 4].map(i => request(server).post('/signup').send({ username: 'dup', password: `password ${i}` })));
    expect(responses.map(r => r.status).sort()).to.deep.equal([201, 409, 409, 409]);
    const winner = responses.find(r => r.status === 201)!;
    expect((await notes.tenancy.listTenants()).map(t => t.tenantId)).to.include(winner.body.id);
  });

  it('serves the front end under a strict CSP, tells who is logged in (/me), and mounts the admin page for the superuser only', async () => {
    const server = notes.app.callback();
    for (const [path, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/app.css', 'text/css']] as const) {
      const res = await request(server).get(path);
      expect([res.status, res.type], path).to.deep.equal([200, type]);
      expect(res.headers['content-security-policy']).to.contain("script-src 'self'").and.not.contain('unsafe-inline');
    }
    expect((await request(server).get('/me')).status).to.equal(401);
    const ann = await signupAndLogin(notes.app, 'ann');
    expect((await ann.agent.get('/me')).body).to.deep.equal({ id: ann.id, username: 'ann', isSuperuser: false, switchedTenant: null });
    expect((await ann.agent.get('/admin')).status).to.equal(403);
    const root = request.agent(server);
    await root.post('/login').send({ username: 'root', password: 'root password' }).expect(200);
    const page = await root.get('/admin');
    expect(page.status).to.equal(200);
    expect(page.text).to.contain(`<td class="id">${ann.id}</td>`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    await root.post('/admin/switch').type('form').send({ csrf, tenant: ann.id }).expect(303);
    expect((await root.get('/me')).body).to.include({ username: 'root', isSuperuser: true, switchedTenant: ann.id });
  });

  it('ignores sessions older than two weeks', async () => {
    const ann = await signupAndLogin(notes.app, 'ann');
    expect((await ann.agent.get('/notes')).status).to.equal(200);
    await notes.tenancy.orm.em.fork().nativeUpdate(Session, { user: ann.id }, { createdAt: new Date(Date.now() - 15 * 24 * 3600 * 1000) });
    expect((await ann.agent.get('/notes')).status).to.equal(401);
  });
});

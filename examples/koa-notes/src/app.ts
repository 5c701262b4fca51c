import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { tenantAdmin, tenantAdminUi, tenantErrorHandler, tenantMiddleware, type TenantAdminOptions } from '@mikro-tenant/koa';
import { Note, Session, User, type IUser, type ISession } from './entities.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { openTenancy, strategyFrom, updateSharedSchema, type NotesTenancy, type Strategy } from './strategy.js';
import { jsonBody } from './json-body.js';
import { frontEnd } from './front-end.js';

/** Options of {@link createApp}. */
export interface NotesAppOptions {
  /** Where users' notes live: a SQLite file each, or a PostgreSQL schema each. @default process.env.STRATEGY ?? 'sqlite' */
  strategy?: Strategy;
  /** PostgreSQL to use (with `pg-schema`); unset: a server started here with its data under `dataDir`. @default process.env.DATABASE_URL */
  databaseUrl?: string;
  /** Folder of the shared database and of the tenant files (or of the embedded PostgreSQL server). @default process.env.DATA_DIR ?? './.data' */
  dataDir?: string;
  /** Creates this superuser at start when missing. @default ADMIN_USERNAME / ADMIN_PASSWORD from the environment */
  admin?: { username: string; password: string };
  /** Most tenant connections kept open. @default 100 */
  maxOpen?: number;
}

/** The app, its tenancy, and how to shut both down. */
export interface NotesApp {
  /** The Koa app: `app.listen(port)`, or `app.callback()` for supertest. */
  app: Koa;
  /** The tenancy behind it (shared ORM, tenant databases). */
  tenancy: NotesTenancy;
  /** The strategy it runs on. */
  strategy: Strategy;
  /** The database it serves from, in words (`PostgreSQL 18.4 at 127.0.0.1:54321`). */
  database: string;
  /** Closes every tenant connection and the shared database (and the PostgreSQL server it started, if any). */
  close(): Promise<void>;
}

type State = { user?: IUser; session?: ISession; em?: SqlEntityManager; tenantId?: string };

const USERNAME = /^[a-z0-9_.-]{3,32}$/i;
const COOKIE = 'sid';
/** Sessions older than this are ignored (and their cookies expire with them). */
const SESSION_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;

/**
 * Builds the notes app: users and sessions shared, each user's notes in their own SQLite file or PostgreSQL
 * schema. The code below is the same for both: only `openTenancy()` knows which.
 */
export async function createApp(options: NotesAppOptions = {}): Promise<NotesApp> {
  const dataDir = resolve(options.dataDir ?? process.env.DATA_DIR ?? './.data');
  const strategy = options.strategy ?? strategyFrom();
  const opened = await openTenancy({ strategy, dataDir, databaseUrl: options.databaseUrl ?? process.env.DATABASE_URL, maxOpen: options.maxOpen });
  const { tenancy } = opened;
  await updateSharedSchema(tenancy.orm);
  const admin = options.admin ?? (process.env.ADMIN_USERNAME && process.env.ADMIN_PASSWORD
    ? { username: process.env.ADMIN_USERNAME, password: process.env.ADMIN_PASSWORD } : undefined);
  if (admin) {
    await ensureSuperuser(tenancy, admin.username, admin.password);
  }

  const adminSwitch: TenantAdminOptions = {
    isSuperuser: ctx => (ctx.state as State).user?.isSuperuser === true,
    get: ctx => (ctx.state as State).session?.switchedTenant ?? undefined,
    set: async (ctx, tenantId) => {
      const session = (ctx.state as State).session!;
      await tenancy.orm.em.fork().nativeUpdate(Session, { token: session.token }, { switchedTenant: tenantId ?? null });
    },
  };

  const app = new Koa<State>();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = (error as { status?: number }).status ?? 500;
      ctx.body = ctx.status < 500
        ? { error: { code: 'ERR_BAD_REQUEST', message: (error as Error).message } }
        : { error: { code: 'ERR_INTERNAL', message: 'Internal error.' } };
      ctx.app.emit('error', error, ctx);
    }
  });
  app.use(tenantErrorHandler());
  app.use(frontEnd()); // the browser front end at /, over the JSON API below
  app.use(jsonBody());
  app.use(async (ctx, next) => {
    const token = ctx.cookies.get(COOKIE);
    if (token) {
      const since = new Date(Date.now() - SESSION_MAX_AGE_MS);
      const session = await tenancy.orm.em.fork().findOne(Session, { token, createdAt: { $gt: since } }, { populate: ['user'] });
      if (session) {
        ctx.state.session = session;
        ctx.state.user = session.user;
      }
    }
    await next();
  });

  const publicRoutes = new Router();
  publicRoutes.post('/signup', async ctx => {
    const { username, password } = credentials(ctx);
    const em = tenancy.orm.em.fork();
    const user = em.create(User, { id: randomBytes(8).toString('hex'), username, passwordHash: await hashPassword(password) });
    try {
      await em.flush();
    } catch (error) {
      // The unique index decides, so two concurrent sign-ups with one name cannot both win.
      if (error instanceof UniqueConstraintViolationException) {
        return fail(ctx, 409, 'ERR_USERNAME_TAKEN', `The username "${username}" is taken.`);
      }
      throw error;
    }
    await tenancy.createTenant(user.id); // the user's own database, provisioned now
    ctx.status = 201;
    ctx.body = { id: user.id, username: user.username };
  });
  publicRoutes.post('/login', async ctx => {
    const { username, password } = credentials(ctx);
    const em = tenancy.orm.em.fork();
    const user = await em.findOne(User, { username });
    if (!user || !await verifyPassword(password, user.passwordHash)) {
      return fail(ctx, 401, 'ERR_BAD_CREDENTIALS', 'Wrong username or password.');
    }
    const token = randomBytes(32).toString('hex');
    em.create(Session, { token, user });
    await em.flush();
    ctx.cookies.set(COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: SESSION_MAX_AGE_MS, overwrite: true });
    ctx.body = { id: user.id, username: user.username };
  });
  publicRoutes.get('/me', ctx => {
    const { user, session } = ctx.state;
    if (!user) {
      return fail(ctx, 401, 'ERR_NOT_LOGGED_IN', 'Log in first.');
    }
    const switched = user.isSuperuser ? session?.switchedTenant ?? null : null;
    ctx.body = { id: user.id, username: user.username, isSuperuser: user.isSuperuser, switchedTenant: switched };
  });
  publicRoutes.post('/logout', async ctx => {
    if (ctx.state.session) {
      await tenancy.orm.em.fork().nativeDelete(Session, { token: ctx.state.session.token });
    }
    ctx.cookies.set(COOKIE, null);
    ctx.status = 204;
  });
  // Outside the tenant middleware: the request must not hold the database it deletes.
  publicRoutes.delete('/account', async ctx => {
    if (!ctx.state.user) {
      return fail(ctx, 401, 'ERR_NOT_LOGGED_IN', 'Log in first.');
    }
    const em = tenancy.orm.em.fork();
    await em.nativeDelete(Session, { user: ctx.state.user.id });
    em.remove(em.getReference(User, ctx.state.user.id));
    await em.flush(); // the deletion subscriber removes the user's database after the commit
    ctx.cookies.set(COOKIE, null);
    ctx.status = 204;
  });
  app.use(publicRoutes.routes()).use(publicRoutes.allowedMethods());
  app.use(tenantAdmin(tenancy, adminSwitch)); // JSON routes under /admin/tenants
  app.use(tenantAdminUi(tenancy, { ...adminSwitch, prefix: '/admin', appPath: '/' })); // the page at /admin
  app.use(tenantMiddleware(tenancy, { adminSwitch }));

  const notes = new Router<State>();
  notes.get('/notes', async ctx => {
    // MikroORM's usual global EntityManager works too: below the tenant middleware it is the request's tenant.
    const rows = await tenancy.orm.em.find(Note, {}, { populate: ['author'], orderBy: { id: 'asc' } });
    ctx.body = { notes: rows.map(n => ({ id: n.id, text: n.text, author: n.author.username })) };
  });
  notes.post('/notes', async ctx => {
    const text = (ctx.request as { body?: { text?: unknown } }).body?.text;
    if (typeof text !== 'string' || text.length === 0 || text.length > 10_000) {
      return fail(ctx, 400, 'ERR_BAD_INPUT', 'Send { "text": "..." } with 1 to 10000 characters.');
    }
    const em = ctx.state.em!;
    const note = em.create(Note, { text, author: ctx.state.user!.id });
    await em.flush();
    ctx.status = 201;
    ctx.body = { id: note.id, text: note.text, author: ctx.state.user!.username };
  });
  notes.delete('/notes/:id', async ctx => {
    const id = Number(ctx.params.id);
    const removed = Number.isSafeInteger(id) ? await ctx.state.em!.nativeDelete(Note, { id }) : 0;
    if (!removed) {
      return fail(ctx, 404, 'ERR_NOT_FOUND', 'No such note in your notes.');
    }
    ctx.status = 204;
  });
  app.use(notes.routes()).use(notes.allowedMethods());

  return { app, tenancy, strategy, database: opened.database, close: () => opened.close() };
}

async function ensureSuperuser(tenancy: NotesTenancy, username: string, password: string): Promise<void> {
  const em = tenancy.orm.em.fork();
  if (!await em.count(User, { username })) {
    const user = em.create(User, { id: randomBytes(8).toString('hex'), username, passwordHash: await hashPassword(password), isSuperuser: true });
    await em.flush();
    await tenancy.createTenant(user.id);
  }
}

function credentials(ctx: Context): { username: string; password: string } {
  const body = (ctx.request as { body?: { username?: unknown; password?: unknown } }).body ?? {};
  const { username, password } = body;
  if (typeof username !== 'string' || !USERNAME.test(username) || typeof password !== 'string' || password.length < 8 || password.length > 200) {
    ctx.throw(400, 'Send { "username": 3-32 letters, digits or ._-, "password": at least 8 characters }.');
  }
  return { username: (username as string).toLowerCase(), password: password as string };
}

function fail(ctx: Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.body = { error: { code, message } };
}

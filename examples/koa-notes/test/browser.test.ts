import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createApp, type NotesApp } from '../src/app.js';
import type { Strategy } from '../src/strategy.js';
import { tempDir } from '../../../test/helpers.js';
import { createTestDatabase, type TestDatabase } from '../../../test/postgres/helpers.js';
import { dropAppRole } from './app-role.js';
import { BROWSER_TESTS_REQUIRED, CHROMIUM_PATH, chromiumPresent, launchChromium } from './chromium.js';

const HOSTILE_ID = '<img src=x onerror="globalThis.pwned=1">';

/** Signs up and logs in through the page's form. */
async function signUp(page: Page, username: string): Promise<void> {
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', 'correct horse');
  await page.click('#signup');
  await page.waitForSelector('#notes-section:not([hidden])');
  expect(await page.textContent('#username')).to.equal(username);
}

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', password);
  await page.click('#login');
  await page.waitForSelector('#notes-section:not([hidden])');
}

async function addNote(page: Page, text: string): Promise<void> {
  const before = await page.locator('#notes li').count();
  await page.fill('#note-text', text);
  await page.click('#add-note');
  await page.waitForFunction(n => document.querySelectorAll('#notes li').length === n, before + 1);
}

const noteTexts = (page: Page): Promise<string[]> => page.locator('#notes .note-text').allTextContents();

/** Fails the test on any console error or uncaught exception of a page (a CSP violation is one). */
function watch(page: Page, problems: string[]): Page {
  page.on('console', message => {
    // Answers of 401 (GET /me logged out), 403 and 404 (favicon) are logged as failed loads: not problems.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('pageerror', error => problems.push(`page error: ${error.message}`));
  return page;
}

describe('koa-notes in a real browser (headless Chromium)', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;

  before(async function () {
    if (!chromiumPresent()) {
      if (BROWSER_TESTS_REQUIRED) {
        throw new Error(`MIKRO_TENANT_BROWSER_TESTS=required but there is no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`);
      }
      console.log(`    (skipped: no Chromium at ${CHROMIUM_PATH}; apt-get install -y chromium to run them)`);
      this.skip();
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  for (const strategy of ['sqlite', 'pg-schema', 'sqlite-row', 'pg-row'] as const satisfies Strategy[]) describe(`on ${strategy}`, () => {
    // Set by beforeEach; cleared by afterEach, which may run after a beforeEach that failed half-way.
    let notes: NotesApp;
    let server: Server | undefined;
    let base: string;
    let cleanup: (() => void) | undefined;
    let db: TestDatabase | undefined;
    let contexts: BrowserContext[] = [];
    let problems: string[] = [];

    const open = async (viewport = { width: 1280, height: 800 }): Promise<Page> => {
      const context = await browser!.newContext({ viewport, baseURL: base });
      contexts.push(context);
      const page = watch(await context.newPage(), problems);
      await page.goto('/');
      await page.waitForSelector('#auth:not([hidden])');
      return page;
    };

    beforeEach(async function () {
      this.timeout(60_000);
      contexts = [];
      problems = [];
      let dir: string;
      ({ dir, cleanup } = tempDir('mt-browser'));
      db = strategy.startsWith('pg-') ? await createTestDatabase('browser') : undefined;
      notes = await createApp({ strategy, databaseUrl: db?.url, dataDir: dir, admin: { username: 'root', password: 'root password' } });
      const listening = notes.app.listen(0, '127.0.0.1');
      server = listening;
      await new Promise(resolve => listening.once('listening', resolve));
      base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    });

    // Undoes whatever beforeEach got to (a failed start leaves no server, app or database behind either).
    afterEach(async () => {
      for (const context of contexts) {
        await context.close();
      }
      const listening = server;
      server = undefined;
      if (listening) {
        await new Promise(resolve => listening.close(resolve));
      }
      const app = notes as NotesApp | undefined;
      notes = undefined as unknown as NotesApp;
      await app?.close();
      if (db) {
        await db.drop();
        if (strategy === 'pg-row') {
          await dropAppRole(db);
        }
        db = undefined;
      }
      cleanup?.();
      cleanup = undefined;
    });

    it('gives two users in two browsers only their own notes, at desktop and phone widths', async () => {
      const ann = await open();
      const bob = await open({ width: 390, height: 844 });
      await signUp(ann, 'ann');
      await signUp(bob, 'bob');
      await addNote(ann, 'ann: first');
      await addNote(bob, 'bob: <b>not bold</b>');
      await addNote(ann, 'ann: second');
      await ann.reload();
      await bob.reload();
      await ann.waitForSelector('#notes li');
      await bob.waitForSelector('#notes li');
      expect(await noteTexts(ann)).to.deep.equal(['ann: first', 'ann: second']);
      expect(await noteTexts(bob)).to.deep.equal(['bob: <b>not bold</b>']);
      expect(await bob.locator('#notes b').count()).to.equal(0);
      expect(await bob.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).to.equal(true);
      expect(await ann.locator('#admin-link').isVisible()).to.equal(false);

      await ann.click('#notes li:first-child button');
      await ann.waitForFunction(() => document.querySelectorAll('#notes li').length === 1);
      expect(await noteTexts(ann)).to.deep.equal(['ann: second']);
      await bob.reload();
      await bob.waitForSelector('#notes li');
      expect(await noteTexts(bob)).to.deep.equal(['bob: <b>not bold</b>']);

      await ann.click('#logout');
      await ann.waitForSelector('#auth:not([hidden])');
      expect(await ann.locator('#notes li').count()).to.equal(0);
      const admin = await ann.goto('/admin');
      expect(admin?.status()).to.equal(403);
      expect(problems).to.deep.equal([]);
    });

    it('lets the superuser list tenants, switch to a user and see their notes, switch back, and delete a tenant after typing its id', async () => {
      const ann = await open();
      await signUp(ann, 'ann');
      await addNote(ann, 'only ann writes this');
      const annId = ((await ann.evaluate(() => fetch('/me').then(r => r.json()))) as { id: string }).id;
      const bob = await open();
      await signUp(bob, 'bob');
      const bobId = ((await bob.evaluate(() => fetch('/me').then(r => r.json()))) as { id: string }).id;

      const root = await open();
      await logIn(root, 'root', 'root password');
      expect(await noteTexts(root)).to.deep.equal([]);
      await root.click('#admin-link');
      await root.waitForSelector('#tenants');
      const ids = await root.locator('td.id').allTextContents();
      expect(ids).to.include.members([annId, bobId]);
      expect(ids).to.have.length(3);
      // Every strategy describes its tenants in its own way (no size for a row tenant): the page shows each one sensibly.
      const created = await root.locator('td[data-label=Created]').allTextContents();
      expect(created.filter(text => !/^\d{4}-\d\d-\d\d \d\d:\d\d$/.test(text)), 'creation times').to.deep.equal([]);
      expect(await root.textContent('#tenants')).to.not.match(/undefined|NaN|Invalid|null/);
      expect(await root.textContent('#switch-status')).to.contain('own data');

      await root.fill('input[name=q]', annId.slice(0, 6));
      await root.click('form.search button');
      await root.waitForSelector('#search-summary');
      expect(await root.locator('td.id').allTextContents()).to.deep.equal([annId]);

      await root.click(`tr:has(td.id:text-is("${annId}")) button:text("Switch to")`);
      await root.waitForSelector('#switched-tenant');
      expect(await root.textContent('#switched-tenant')).to.equal(annId);
      await root.click('header a:text("Open the app")');
      await root.waitForSelector('#switch-banner:not([hidden])');
      expect(await root.textContent('#switch-banner #switched-tenant')).to.equal(annId);
      await root.waitForSelector('#notes li');
      expect(await noteTexts(root)).to.deep.equal(['only ann writes this']);

      await root.click('#switch-banner a');
      await root.click('#switch-status button:text("Switch back")');
      await root.waitForSelector('.notice');
      expect(await root.textContent('#switch-status')).to.contain('own data');
      await root.goto('/');
      await root.waitForSelector('#notes-section:not([hidden])');
      expect(await root.locator('#switch-banner').isVisible()).to.equal(false);
      expect(await noteTexts(root)).to.deep.equal([]);

      await root.goto('/admin');
      await root.click(`tr:has(td.id:text-is("${bobId}")) a:text("Delete")`);
      // The page's script keeps the button off until the id is typed (the server checks it too).
      await root.waitForSelector('form[data-confirm] button[type=submit]:disabled');
      const button = root.locator('form[data-confirm] button[type=submit]');
      await root.fill('#confirm', bobId.slice(0, -1));
      expect(await button.isDisabled()).to.equal(true);
      expect(await notes.tenancy.tenantExists(bobId)).to.equal(true);
      await root.fill('#confirm', bobId);
      expect(await button.isDisabled()).to.equal(false);
      await button.click();
      await root.waitForSelector('.notice');
      expect(await root.textContent('.notice')).to.equal(`Deleted tenant "${bobId}".`);
      expect(await root.locator('td.id').allTextContents()).to.not.include(bobId);
      expect(await notes.tenancy.tenantExists(bobId)).to.equal(false);
      expect(await notes.tenancy.tenantExists(annId)).to.equal(true);
      expect(problems).to.deep.equal([]);
    });

    it('shows a tenant id holding markup as text', async () => {
      await notes.tenancy.registry.register({ tenantId: HOSTILE_ID, location: 'nowhere', schemaVersion: null });
      const root = await open();
      await logIn(root, 'root', 'root password');
      await root.goto('/admin');
      await root.waitForSelector('#tenants');
      expect(await root.locator('td.id').allTextContents()).to.include(HOSTILE_ID);
      expect(await root.locator('main img').count()).to.equal(0);
      await root.fill('input[name=q]', HOSTILE_ID);
      await root.click('form.search button');
      await root.waitForSelector('#no-tenants');
      expect(await root.inputValue('input[name=q]')).to.equal(HOSTILE_ID);
      expect(await root.textContent('#search-summary code')).to.equal(HOSTILE_ID);
      // The registry holds the row, but no tenant can have that id: switching to it is refused, the id shown as text.
      await root.goto('/admin');
      await Promise.all([
        root.waitForURL('**/admin/switch'),
        root.click(`tr:has(td.id:text-is(${JSON.stringify(HOSTILE_ID)})) button:text("Switch to")`),
      ]);
      expect(await root.textContent('[role=alert]')).to.contain('Invalid tenant id "<img src=x onerror');
      expect(await root.locator('img').count()).to.equal(0);
      await root.goto('/admin');
      expect(await root.evaluate(() => (globalThis as { pwned?: number }).pwned)).to.equal(undefined);
      expect(await root.locator('img').count()).to.equal(0);
      expect(problems).to.deep.equal([]);
    });
  });
});

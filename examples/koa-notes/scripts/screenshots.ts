/**
 * Writes screenshots of the main pages (desktop and phone widths) to examples/koa-notes/screenshots/, for a
 * reviewer to look at: `npm run screenshots -w examples/koa-notes`. Not run by the tests or CI.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createApp } from '../src/app.js';
import { launchChromium } from '../test/chromium.js';

const out = fileURLToPath(new URL('../screenshots/', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'koa-notes-shots-'));
mkdirSync(out, { recursive: true });

const notes = await createApp({ strategy: 'sqlite', dataDir, admin: { username: 'root', password: 'root password' } });
const server = notes.app.listen(0, '127.0.0.1');
await new Promise(resolve => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser: Browser = await launchChromium();

const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

async function pageAs(username: string | undefined, password = 'correct horse', size: keyof typeof SIZES = 'desktop'): Promise<Page> {
  const context = await browser.newContext({ viewport: SIZES[size], baseURL: base, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto('/');
  await page.waitForSelector('#auth:not([hidden])');
  if (username) {
    await page.fill('#auth-username', username);
    await page.fill('#auth-password', password);
    await page.click('#login');
    await page.waitForSelector('#notes-section:not([hidden])');
  }
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  // Phones show what fits on the screen; desktops the whole page.
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: name.startsWith('desktop') });
  console.log(`wrote screenshots/${name}.png`);
}

try {
  for (const [username, texts] of [['ann', ['Buy oat milk', 'Call the plumber about the kitchen tap — he said Tuesday after 3 pm', 'Ideas: <b>markup</b> stays text']], ['bob', ['Bob\'s only note']]] as const) {
    const page = await pageAs(undefined);
    await page.fill('#auth-username', username);
    await page.fill('#auth-password', 'correct horse');
    await page.click('#signup');
    await page.waitForSelector('#notes-section:not([hidden])');
    for (const text of texts) {
      await page.fill('#note-text', text);
      await page.click('#add-note');
      await page.waitForFunction(text => Array.from(document.querySelectorAll('.note-text')).some(e => e.textContent === text), text);
    }
    await page.context().close();
  }
  for (let i = 0; i < 24; i++) {
    await notes.tenancy.createTenant(`demo-${String(i).padStart(2, '0')}`);
  }
  for (const size of ['desktop', 'phone'] as const) {
    const anonymous = await pageAs(undefined, undefined, size);
    await shot(anonymous, `${size}-1-login`);
    const ann = await pageAs('ann', undefined, size);
    await shot(ann, `${size}-2-notes`);
    const root = await pageAs('root', 'root password', size);
    await root.goto('/admin');
    await shot(root, `${size}-3-admin-list`);
    await root.fill('input[name=q]', 'demo-1');
    await root.click('form.search button');
    await root.waitForSelector('#search-summary');
    await shot(root, `${size}-4-admin-search`);
    const annId = (await ann.evaluate(() => fetch('/me').then(r => r.json())) as { id: string }).id;
    await root.goto('/admin');
    await root.click(`tr:has(td.id:text-is("${annId}")) button:text("Switch to")`);
    await root.waitForSelector('#switched-tenant');
    await shot(root, `${size}-5-admin-switched`);
    await root.goto('/');
    await root.waitForSelector('#switch-banner:not([hidden])');
    await root.waitForSelector('#notes li');
    await shot(root, `${size}-6-notes-switched`);
    await root.goto('/admin');
    await root.click('#switch-status button');
    await root.waitForSelector('.notice');
    await root.click('tr:has(td.id:text-is("demo-00")) a:text("Delete")');
    await root.fill('#confirm', 'demo-0');
    await shot(root, `${size}-7-admin-delete-confirm`);
    await ann.goto('/admin');
    await shot(ann, `${size}-8-admin-forbidden`);
    for (const page of [anonymous, ann, root]) {
      await page.context().close();
    }
  }
} finally {
  await browser.close();
  await new Promise(resolve => server.close(resolve));
  await notes.close();
  rmSync(dataDir, { recursive: true, force: true });
}

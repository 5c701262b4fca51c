import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), or the one `CHROMIUM_PATH` names. Playwright's own browsers are never downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * When set (`.ci/run` sets it), a missing Chromium fails the browser tests instead of skipping them.
 */
export const BROWSER_TESTS_REQUIRED = process.env.MIKRO_TENANT_BROWSER_TESTS === 'required';

/** Whether the browser tests can run here. */
export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Starts headless Chromium with a fresh profile (Playwright makes a temporary user-data-dir per launch and
 * removes it), nothing that reaches the network on its own, and no sandbox (tests run as root in CI).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Mocha global fixture (`.mocharc.json` requires it): stops the PostgreSQL server the tests started, if
 * any, once every test has run. The server is started on first use (`pgServer()`), so a run without
 * PostgreSQL tests starts none.
 * @module
 */
import { stopPgServer } from './server.js';

/** Runs once after the whole suite. */
export async function mochaGlobalTeardown(): Promise<void> {
  await stopPgServer();
}

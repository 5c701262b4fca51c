/**
 * What the HTTP scenarios (`http`, `operating`) share: server processes each serving `GET /notes` for 100
 * tenants on a free loopback port, and the autocannon load that cycles every connection through them, one
 * request per tenant, so the tenants are hit round-robin.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type Koa from 'koa';

/** Tenants of the workload. */
export const TENANTS = 100;
/** Their ids, in the order the load cycles through them. */
export const tenantIds = Array.from({ length: TENANTS }, (_, i) => `t${i}`);

/** A server process of one kind, listening on `port`. */
export interface Server<K extends string = string> {
  kind: K;
  port: number;
  proc: ChildProcess;
}

/** Starts the scenario module `moduleUrl` (its `import.meta.url`) as a server of `kind` over `<dir>/<kind>`; resolves once it listens. */
export function startServer<K extends string>(moduleUrl: string, kind: K, dir: string): Promise<Server<K>> {
  const proc = fork(fileURLToPath(moduleUrl), ['--server', kind, '--dir', join(dir, kind)], {
    execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    proc.once('message', (message: { port: number }) => resolve({ kind, port: message.port, proc }));
    proc.once('exit', code => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

/** Stops the servers and waits for their processes to exit. */
export async function stopServers(servers: Server[]): Promise<void> {
  await Promise.all(servers.map(server => new Promise(resolve => {
    server.proc.once('exit', resolve);
    server.proc.send({ stop: true });
  })));
}

/**
 * Server side: `app` listens on a free loopback port, reported to the parent; on `{ stop: true }` it closes,
 * runs `close` and exits. `onMessage` answers the scenario's other messages.
 */
export function listen(app: Koa<any>, close: () => Promise<void>, onMessage?: (message: Record<string, unknown>) => void): void {
  const server = app.listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as { port: number }).port });
  });
  process.on('message', async (message: Record<string, unknown>) => {
    onMessage?.(message);
    if (message.stop) {
      server.close();
      await close();
      process.exit(0);
    }
  });
}

/** Runs the module as a server when it was started by {@link startServer}: creates its folder and calls `serve`. */
export async function serveIfServer(serve: (kind: string, dir: string) => Promise<void>): Promise<void> {
  if (process.argv.includes('--server')) {
    const arg = (name: string) => process.argv[process.argv.indexOf(name) + 1]!;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(arg('--dir'), { recursive: true });
    await serve(arg('--server'), arg('--dir'));
  }
}

/** `GET /notes` on `server`, 10 connections, every tenant in turn, for `durationS` seconds or `amount` requests (a warm-up). */
export async function loadNotes(server: Server, durationS: number, amount?: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections: 10,
    pipelining: 1,
    ...(amount ? { amount } : { duration: durationS }),
    requests: tenantIds.map(id => ({ method: 'GET', path: '/notes', headers: { 'x-tenant-id': id } })),
  });
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${server.kind}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return result;
}

import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp } from '../../examples/koa-notes/src/app.js';
import { tempDir } from '../helpers.js';
import { report, size } from './support.js';

describe('reliability: isolation under load through the example app', function () {
  this.timeout(size(120_000, 900_000));

  it('every request sees only its own tenant\'s rows', async () => {
    const { dir, cleanup } = tempDir('mt-load');
    const notes = await createApp({ dataDir: dir, maxOpen: 50 });
    const server = notes.app.listen(0, '127.0.0.1');
    await new Promise(resolve => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const users = size(30, 200);
      const requests = size(1500, 20_000);
      const concurrency = 32;
      const cookies: string[] = [];
      for (let i = 0; i < users; i++) {
        const body = JSON.stringify({ username: `user${i}`, password: 'load test password' });
        const headers = { 'content-type': 'application/json' };
        expect((await fetch(`${base}/signup`, { method: 'POST', headers, body })).status).to.equal(201);
        const login = await fetch(`${base}/login`, { method: 'POST', headers, body });
        cookies.push(login.headers.get('set-cookie')!.split(';')[0]!);
      }
      let sent = 0;
      let mismatches = 0;
      let errors = 0;
      const started = Date.now();
      const worker = async () => {
        while (sent < requests) {
          const n = sent++;
          const user = n % users;
          const cookie = cookies[user]!;
          const write = n % 3 === 0;
          try {
            if (write) {
              const res = await fetch(`${base}/notes`, {
                method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ text: `user${user}:${n}` }),
              });
              errors += res.status === 201 ? 0 : 1;
              await res.arrayBuffer();
            } else {
              const res = await fetch(`${base}/notes`, { headers: { cookie } });
              const body = await res.json() as { notes: { text: string; author: string }[] };
              errors += res.status === 200 ? 0 : 1;
              mismatches += body.notes.filter(note => note.author !== `user${user}` || !note.text.startsWith(`user${user}:`)).length;
            }
          } catch {
            errors++;
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const seconds = (Date.now() - started) / 1000;
      report('isolation under load', { users, requests, concurrency, mismatches, errors, requestsPerSecond: requests / seconds });
      expect(errors).to.equal(0);
      expect(mismatches).to.equal(0);
    } finally {
      await new Promise(resolve => server.close(resolve));
      await notes.close();
      cleanup();
    }
  });
});

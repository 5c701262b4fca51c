import { expect } from 'chai';
import { pgServer } from './server.js';

describe('postgres: the test server', () => {
  it('is reachable and reports its version', async () => {
    const server = await pgServer();
    expect(server.version).to.match(/^\d+\.\d+/);
  });
});

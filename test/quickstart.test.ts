import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { tempDir } from './helpers.js';

const QUICKSTART = fileURLToPath(new URL('../examples/quickstart/quickstart.ts', import.meta.url));

// The README's quick start is this file: running it keeps the README honest.
describe('README quick start', () => {
  it('runs as pasted and prints what the README says', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', QUICKSTART], {
        env: { ...process.env, DATA_DIR: dir }, cwd: fileURLToPath(new URL('../examples/quickstart/', import.meta.url)),
      });
      expect(stdout).to.include("[ 'Ann: Hello from my own database' ]");
      expect(stdout).to.include('bob sees 0 notes');
      expect(stdout).to.include('ERR_NO_TENANT_CONTEXT');
    } finally {
      cleanup();
    }
  });
});

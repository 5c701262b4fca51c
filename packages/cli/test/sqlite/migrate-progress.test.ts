import { expect } from 'chai';
import { startProgress } from '../../src/migrate-progress.js';
import type { TenantMigrationOutcome } from '../../src/migrate-tenant.js';
import type { CliIo } from '../../src/io.js';

/** An io that records each write to stderr separately. */
function recordingIo(): CliIo & { writes: string[] } {
  const writes: string[] = [];
  return { writes, out: () => undefined, err: text => { writes.push(text); }, interactive: false, confirm: async () => false };
}

const outcome = (i: number, status: TenantMigrationOutcome['status'] = 'migrated'): TenantMigrationOutcome =>
  ({ tenantId: `t${i}`, status, executed: status === 'migrated' ? ['Migration002'] : [], ...(status === 'failed' ? { error: 'boom', code: 'ERR_TENANT_MIGRATION_FAILED' } : {}) }) as TenantMigrationOutcome;

describe('mikro-tenant migrate: progress lines without a terminal', () => {
  it('prints one line per tenant, in order, but writes the lines of tenants finishing together at once', () => {
    const io = recordingIo();
    const progress = startProgress(io, 500);
    for (let i = 0; i < 500; i++) {
      progress.tick(outcome(i, i === 7 ? 'failed' : i % 50 === 0 ? 'up-to-date' : 'migrated'));
    }
    progress.stop();
    const lines = io.writes.join('').split('\n').filter(Boolean);
    expect(lines).to.have.length(500);
    expect(lines[0]).to.equal('[1/500] t0: up-to-date');
    expect(lines[1]).to.equal('[2/500] t1: migrated (Migration002)');
    expect(lines[7]).to.equal('[8/500] t7: failed: boom');
    expect(lines[499]).to.equal('[500/500] t499: migrated (Migration002)');
    expect(io.writes.length, 'writes').to.be.below(10);
  });

  it('writes a tenant finishing 100 ms or more after the last write at once (progress stays live), and the rest at stop()', async () => {
    const io = recordingIo();
    const progress = startProgress(io, 3);
    progress.tick(outcome(0));
    await new Promise(resolve => setTimeout(resolve, 120));
    progress.tick(outcome(1));
    expect(io.writes.join('')).to.equal('[1/3] t0: migrated (Migration002)\n[2/3] t1: migrated (Migration002)\n');
    progress.tick(outcome(2));
    progress.stop();
    expect(io.writes.join('').split('\n').filter(Boolean)).to.have.length(3);
  });
});

import { expectOwnLoggerContexts, expectSharedConfigurationKept } from '../fixtures/warm-path-checks.js';
import { withPgTenancy } from './helpers.js';

// What the warm path (run() and fork() of an open tenant schema) does cheaper than MikroORM's own fork must
// leave the same observable state (the checks are shared with the SQLite twin: fixtures/warm-path-checks.ts).
describe('postgres: warm path of an open tenant', () => {
  const fixture = withPgTenancy();

  it('gives every fork its own copy of the tenant\'s logger context, as MikroORM\'s merge does (nested values and fork options too)', async () => {
    await expectOwnLoggerContexts(fixture.tenancy);
  });

  it('tenant forks leave the shared allowGlobalContext as it was, never write the shared configuration, and MikroORM\'s global-context check works', async () => {
    await expectSharedConfigurationKept(fixture.tenancy);
  });
});

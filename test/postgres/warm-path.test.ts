import { expect } from 'chai';
import type { Configuration } from '@mikro-orm/core';
import { Tag, User } from '../fixtures/entities.js';
import { withPgTenancy } from './helpers.js';

/** Calls of `config.set()` while `fn` runs. */
async function setCallsDuring(config: Configuration, fn: () => Promise<unknown>): Promise<string[]> {
  const calls: string[] = [];
  const set = config.set;
  config.set = function recorded(this: Configuration, key: never, value: never) {
    calls.push(String(key));
    return set.call(this, key, value);
  } as typeof config.set;
  try {
    await fn();
  } finally {
    config.set = set;
  }
  return calls;
}

// What the warm path (run() and fork() of an open tenant schema) does cheaper than MikroORM's own fork must
// leave the same observable state.
describe('postgres: warm path of an open tenant', () => {
  const fixture = withPgTenancy();

  it('gives every fork its own copy of the tenant\'s logger context, as MikroORM\'s merge does (nested values and fork options too)', async () => {
    const { tenancy } = fixture;
    await tenancy.run('a', async em => {
      expect(em.getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a' });
      em.getLoggerContext().requestId = 'r1';
      const fork = em.fork();
      expect(fork.getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a', requestId: 'r1' });
      fork.getLoggerContext().requestId = 'r2';
      expect(em.getLoggerContext().requestId).to.equal('r1');
      expect(em.fork({ loggerContext: { job: 'sync' } }).getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a', requestId: 'r1', job: 'sync' });
      em.setLoggerContext({ label: 'tenant:a', nested: { depth: 1 } });
      const deep = em.fork().getLoggerContext();
      expect(deep).to.deep.equal({ label: 'tenant:a', nested: { depth: 1 } });
      expect(deep.nested).to.not.equal(em.getLoggerContext().nested);
      // tenancy.em forks the EntityManager it resolves to, label included.
      expect(tenancy.em.fork().getLoggerContext()).to.deep.equal({ label: 'tenant:a', nested: { depth: 1 } });
    });
    expect((await tenancy.fork('a')).getLoggerContext()).to.deep.equal({ label: 'tenant:a', tenantId: 'a' });
  });

  it('tenant forks leave the shared allowGlobalContext as it was, never write the shared configuration, and MikroORM\'s global-context check works', async () => {
    const { tenancy } = fixture;
    const calls = await setCallsDuring(tenancy.orm.config, async () => {
      for (let i = 0; i < 3; i++) {
        await tenancy.run('a', em => em.fork().count(Tag, {}));
        await tenancy.fork('b');
      }
    });
    expect(calls).to.deep.equal([]);
    expect(tenancy.orm.config.get('allowGlobalContext')).to.equal(false);
    await tenancy.orm.em.find(User, {}).then(() => expect.fail('the global EntityManager was used'), (error: Error) => {
      expect(error.message).to.match(/global EntityManager/);
    });
    tenancy.orm.config.set('allowGlobalContext', true);
    await tenancy.fork('c');
    expect(tenancy.orm.config.get('allowGlobalContext')).to.equal(true);
    expect(await tenancy.orm.em.count(User, {})).to.equal(0);
  });
});

import { existsSync } from 'node:fs';
import { expect } from 'chai';
import type { TransactionEventArgs } from '@mikro-orm/core';
import type { SqliteTenancy } from '@mikro-tenant/sqlite';
import { User } from './fixtures/entities.js';
import { createSharedSchema, makeTenancy, tempDir, warningCollector } from './helpers.js';

/**
 * Core's registry and deletion subscriber see the shared ORM's transactions only through the
 * TransactionInspector the SQLite package gives them (knex transactions in MikroORM 6): these pin
 * what they need of it, nested transactions and finished ones.
 */
describe('shared transactions as core sees them', () => {
  let dir: string;
  let cleanup: () => void;
  let tenancy: SqliteTenancy;
  let warnings: { message: string; code: string }[];

  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    const collector = warningCollector();
    warnings = collector.warnings;
    tenancy = await makeTenancy(dir, { tenantEntity: User, deleteOnTenantDelete: true, warn: collector.warn });
    await createSharedSchema(tenancy);
    await tenancy.orm.em.fork().insert(User, { id: 'nina', name: 'Nina' });
    await tenancy.run('nina', async () => undefined);
    await tenancy.registry.flush();
  });

  afterEach(async () => {
    await tenancy.close();
    cleanup();
  });

  it('a tenant removed in a nested transaction is deleted when the outermost one commits, not when the nested one does', async () => {
    const file = tenancy.files.path('nina');
    let afterNested: boolean | undefined;
    await tenancy.orm.em.fork().transactional(async outer => {
      await outer.transactional(async inner => {
        inner.remove(await inner.findOneOrFail(User, 'nina'));
      });
      afterNested = existsSync(file);
    });
    expect(afterNested, 'file after the nested commit').to.equal(true);
    expect(existsSync(file), 'file after the outer commit').to.equal(false);
    expect(await tenancy.registry.exists('nina')).to.equal(false);
    expect(warnings).to.deep.equal([]);
  });

  it('a tenant removed in a nested transaction keeps its database when the outermost one rolls back', async () => {
    const outcome = await tenancy.orm.em.fork().transactional(async outer => {
      await outer.transactional(async inner => {
        inner.remove(await inner.findOneOrFail(User, 'nina'));
      });
      throw new Error('abort');
    }).then(() => 'committed', (error: Error) => error.message);
    expect(outcome).to.equal('abort');
    expect(existsSync(tenancy.files.path('nina'))).to.equal(true);
    expect(await tenancy.registry.exists('nina')).to.equal(true);
    expect(warnings).to.deep.equal([]);
  });

  it('the registry works from an after-commit hook, whose context still holds the finished transaction', async () => {
    const seen: unknown[] = [];
    tenancy.orm.em.getEventManager().registerSubscriber({
      afterTransactionCommit: async (args: TransactionEventArgs) => {
        seen.push(args.em.getTransactionContext() !== undefined);
        seen.push(await tenancy.registry.exists('nina'));
        seen.push(await tenancy.registry.unregister('nina'));
      },
    });
    await tenancy.orm.em.fork().transactional(async em => {
      await em.findOneOrFail(User, 'nina');
    });
    expect(seen).to.deep.equal([true, true, true]);
    expect(await tenancy.registry.exists('nina')).to.equal(false);
  });
});

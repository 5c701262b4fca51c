import { join } from 'node:path';
import { expect } from 'chai';
import { SqliteTenancy } from '@mikro-tenant/sqlite';
import { Note, Tag, User } from './fixtures/entities.js';
import { tempDir } from './helpers.js';

describe('query log', () => {
  it('labels every query of a tenant with its id, forks and transactions included; shared queries carry no label', async () => {
    const { dir, cleanup } = tempDir();
    const lines: string[] = [];
    const tenancy = await SqliteTenancy.init({
      dbName: join(dir, 'shared.sqlite3'), entities: [User], allowGlobalContext: false,
      debug: ['query'], logger: line => lines.push(line), colors: false,
      tenancy: { dir: join(dir, 'tenants'), entities: [Note, Tag], warn: () => undefined },
    });
    try {
      await tenancy.sharedSchema.create();
      lines.length = 0;
      await tenancy.run('alpha', async em => {
        await em.transactional(async trx => {
          trx.create(Tag, { label: 'x' });
        });
        await em.fork().count(Tag, {});
      });
      await tenancy.run('beta', em => em.count(Tag, {}));
      await tenancy.orm.em.fork().count(User, {});
      // MikroORM's colours are process-wide (the last ORM started decides): compare the plain text.
      const queries = lines.map(line => line.replace(/\x1B\[\d+m/g, '')).filter(line => line.startsWith('[query]'));
      const of = (label: string) => queries.filter(line => line.includes(`(${label})`));
      expect(of('tenant:alpha').some(line => /insert into `tag`/.test(line))).to.equal(true);
      expect(of('tenant:alpha').some(line => /count\(/.test(line))).to.equal(true);
      expect(of('tenant:beta')).to.have.length(1);
      const shared = queries.filter(line => line.includes('`user`'));
      expect(shared).to.have.length(1);
      expect(shared[0]).to.not.contain('(tenant:');
    } finally {
      await tenancy.close();
      cleanup();
    }
  });
});

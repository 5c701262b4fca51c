import { expect } from 'chai';
import { Note, Tag } from '../fixtures/entities.js';
import { schemaNames, tableNamesIn, withPgTenancy } from './helpers.js';

describe('postgres: smoke', () => {
  const fixture = withPgTenancy();

  it('creates a schema per tenant and keeps rows apart', async () => {
    const { tenancy, db } = fixture;
    await tenancy.run('acme', async em => {
      em.create(Tag, { label: 'a' });
      em.create(Note, { text: 'hello', author: null });
      await em.flush();
    });
    await tenancy.run('beta', async em => {
      expect(await em.count(Tag, {})).to.equal(0);
    });
    expect(await tenancy.run('acme', em => em.count(Tag, {}))).to.equal(1);
    expect(await schemaNames(db)).to.deep.equal(['tenant_acme', 'tenant_beta']);
    expect(await tableNamesIn(db, 'tenant_acme')).to.deep.equal(['note', 'tag']);
  });
});

import { expect } from 'chai';
import pg from 'pg';
import { SchemaTenantRegistry } from '../../packages/postgresql/dist/schema-registry.js';
import { createTestDatabase } from './helpers.js';

describe('postgres: the registry table on a fresh database', function () {
  this.timeout(120_000);

  it('is created once when many processes start at once (CREATE TABLE IF NOT EXISTS alone fails on the catalog)', async () => {
    const errors: string[] = [];
    for (let round = 0; round < 5; round++) {
      const db = await createTestDatabase('mtreg');
      // One connection per "process", as many apps or CLI runs starting together have.
      const clients = await Promise.all(Array.from({ length: 16 }, async () => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        return client;
      }));
      try {
        await Promise.all(clients.map(client => new SchemaTenantRegistry(
          () => ({ execute: async (sql: string) => (await client.query(sql)) as never }), sql => sql, 'public', 'mikro_tenant_registry',
        ).ensure().catch((error: Error) => { errors.push(error.message); })));
        expect(await db.query("select 1 from pg_class where relname = 'mikro_tenant_registry'")).to.have.length(1);
      } finally {
        await Promise.all(clients.map(client => client.end()));
        await db.drop();
      }
    }
    expect(errors).to.deep.equal([]);
  });
});

import { expect } from 'chai';
import type { PostgresSchemaTenancy } from '@mikro-tenant/postgresql';
import { HOSTILE_IDS, LOOK_ALIKE_VALID_PAIRS } from '../../packages/core/test/hostile-ids.js';
import { withPgTenancy, type TestDatabase } from './helpers.js';

/** Every schema of the database and every registry row: what a refused id must leave as it was. */
async function snapshot(db: TestDatabase): Promise<unknown> {
  return {
    schemas: await db.query("select nspname from pg_namespace where nspname not like 'pg\\_%' order by nspname"),
    registry: await db.query('select tenant_id from mikro_tenant_registry order by tenant_id'),
  };
}

const entryPoints: [string, (t: PostgresSchemaTenancy, id: never) => unknown][] = [
  ['run', (t, id) => t.run(id, async () => undefined)],
  ['fork', (t, id) => t.fork(id)],
  ['createTenant', (t, id) => t.createTenant(id)],
  ['deleteTenant', (t, id) => t.deleteTenant(id)],
  ['tenantExists', (t, id) => t.tenantExists(id)],
  ['pendingMigrations', (t, id) => t.pendingMigrations(id)],
  ['migrateTenant', (t, id) => t.migrateTenant(id)],
];

async function codeOf(call: () => unknown): Promise<string | undefined> {
  try {
    await call();
  } catch (error) {
    return (error as { code?: string }).code ?? `(no code: ${(error as Error).message})`;
  }
  return undefined;
}

describe('postgres: hostile tenant ids', () => {
  describe('through every entry point', () => {
    const fixture = withPgTenancy();

    for (const [name, call] of entryPoints) {
      it(`${name} refuses all ${HOSTILE_IDS.length} hostile ids and ids too long for the schema pattern with ERR_INVALID_TENANT_ID, touching nothing`, async () => {
        const { tenancy, db } = fixture;
        await tenancy.run('baseline', async () => undefined);
        const before = await snapshot(db);
        // With the default pattern "tenant_{id}" an id may have 56 characters (63 bytes in all).
        const tooLong = ['x'.repeat(57), 'a'.repeat(64), `${'b'.repeat(56)}1`];
        for (const id of [...HOSTILE_IDS, ...tooLong]) {
          const shown = typeof id === 'symbol' ? 'symbol' : JSON.stringify(id);
          expect(await codeOf(() => call(tenancy, id as never)), `${name}(${shown})`).to.equal('ERR_INVALID_TENANT_ID');
        }
        expect(await snapshot(db)).to.deep.equal(before);
      });
    }

    it('accepts the longest id that fits, and maps look-alike ids to distinct schemas', async () => {
      const { tenancy, db } = fixture;
      const longest = 'z'.repeat(56);
      await tenancy.run(longest, async () => undefined);
      const ids = [...new Set(LOOK_ALIKE_VALID_PAIRS.flat())];
      for (const id of ids) {
        await tenancy.run(id, async () => undefined);
      }
      const schemas = (await db.query<{ nspname: string }>("select nspname from pg_namespace where nspname like 'tenant\\_%'")).map(r => r.nspname);
      expect(schemas).to.include(`tenant_${longest}`);
      expect(new Set(ids.map(id => tenancy.schemas.schemaOf(id))).size).to.equal(ids.length);
      for (const id of ids) {
        expect(schemas).to.include(tenancy.schemas.schemaOf(id));
      }
    });
  });

  describe('with the pattern "{id}": names PostgreSQL or the shared side own are never produced', () => {
    const fixture = withPgTenancy({ schemaPattern: '{id}' });

    it('refuses public, information_schema, pg_* and the shared schema, through every entry point', async () => {
      const { tenancy, db } = fixture;
      const before = await snapshot(db);
      for (const [name, call] of entryPoints) {
        for (const id of ['public', 'information_schema', 'pg_catalog', 'pg_toast', 'pg_temp_1', 'pg_anything']) {
          expect(await codeOf(() => call(tenancy, id as never)), `${name}(${id})`).to.equal('ERR_INVALID_TENANT_ID');
        }
      }
      expect(await snapshot(db)).to.deep.equal(before);
      // 63 characters fit the pattern "{id}"... but canonical ids stop at 64: the id rule and the 63 bytes both hold.
      expect(await codeOf(() => tenancy.run('y'.repeat(64), async () => undefined))).to.equal('ERR_INVALID_TENANT_ID');
      await tenancy.run('y'.repeat(63), async () => undefined);
      expect(await tenancy.tenantExists('y'.repeat(63))).to.equal(true);
    });
  });
});

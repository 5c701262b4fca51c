import { expect } from 'chai';
import { TenantSchemas, resolvePostgresTenancyOptions } from '@mikro-tenant/postgresql';
import { LOOK_ALIKE_VALID_PAIRS } from '../../core/test/hostile-ids.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

const Note = class Note {};

describe('TenantSchemas: tenant ids to schema names', () => {
  it('names a schema by the pattern and refuses ids that would pass 63 bytes, saying the limit for the pattern', () => {
    const schemas = new TenantSchemas('tenant_{id}', ['public']);
    expect(schemas.maxIdLength).to.equal(56);
    expect(schemas.schemaOf('acme-eu')).to.equal('tenant_acme-eu');
    expect(schemas.schemaOf('x'.repeat(56))).to.have.length(63);
    let error: (Error & { code?: string }) | undefined;
    try {
      schemas.schemaOf('x'.repeat(57));
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error).to.have.property('code', 'ERR_INVALID_TENANT_ID');
    expect(error!.message).to.contain('at most 56 characters');
  });

  it('is one to one: distinct ids give distinct names, and each name maps back to its id only', () => {
    for (const pattern of ['tenant_{id}', '{id}', 't{id}_x', '{id}_data']) {
      const schemas = new TenantSchemas(pattern, ['public', 'shared']);
      const ids = [...new Set([...LOOK_ALIKE_VALID_PAIRS.flat(), 'a', 'a_', '_x', 'x_', 'data', '1', 'a-b-c'])]
        .filter(id => /^[a-z0-9]/.test(id));
      const names = ids.map(id => schemas.schemaOf(id));
      expect(new Set(names).size, pattern).to.equal(ids.length);
      for (const [i, name] of names.entries()) {
        expect(schemas.tenantIdOf(name), `${pattern}: ${name}`).to.equal(ids[i]);
      }
      expect(schemas.tenantIdOf('public'), pattern).to.equal(undefined);
      expect(schemas.tenantIdOf('shared'), pattern).to.equal(undefined);
      expect(schemas.tenantIdOf('pg_catalog'), pattern).to.equal(undefined);
    }
  });

  it('never produces a reserved name: public, information_schema, pg_*, or a shared schema', () => {
    const schemas = new TenantSchemas('{id}', ['app', 'audit']);
    for (const id of ['public', 'information_schema', 'pg_catalog', 'pg_x', 'app', 'audit']) {
      expect(codeOf(() => schemas.schemaOf(id)), id).to.equal('ERR_INVALID_TENANT_ID');
    }
    const prefixed = new TenantSchemas('{id}_t', ['public']);
    expect(codeOf(() => prefixed.schemaOf('pg'))).to.equal('ERR_INVALID_TENANT_ID');
  });

  it('refuses patterns that cannot work, at construction (ERR_INVALID_OPTION)', () => {
    for (const pattern of [5, '', 'tenant', '{id}{id}', 'Tenant_{id}', 'tenant-{id}', 'a b{id}', '"{id}', 'pg_{id}', `${'x'.repeat(63)}{id}`,
      `${'x'.repeat(40)}{id}${'y'.repeat(23)}`]) {
      expect(codeOf(() => new TenantSchemas(pattern as string, [])), String(pattern)).to.equal('ERR_INVALID_OPTION');
      expect(codeOf(() => resolvePostgresTenancyOptions({ entities: [Note], schemaPattern: pattern as string })), String(pattern))
        .to.equal('ERR_INVALID_OPTION');
    }
    expect(new TenantSchemas(`${'x'.repeat(62)}{id}`, []).maxIdLength).to.equal(1);
  });
});

describe('resolvePostgresTenancyOptions', () => {
  /** Wrong values for every option. The test checks that this names every option there is. */
  const WRONG_VALUES: Record<string, unknown[]> = {
    entities: ['Note', [], [5], {}, null],
    tenantEntity: [5, true, {}, null],
    tenantIdOf: ['x', 5, {}],
    schemaPattern: [5, null, 'no-id', 'Tenant_{id}'],
    maxOpen: ['10', 0, 1.5, -1, NaN, null],
    autoCreate: ['false', 0, null],
    deleteOnTenantDelete: ['true', 1, null],
    migrations: ['path', 5, {}, null, { migrationsList: 'x' }, { pathh: 'x' }, { path: 'x', tableName: 'a.b' }, { path: 'x', transactional: false }],
    registryTable: [5, '', 'a b', 'x;drop table y', 'Registry', null],
    deleteGraceMs: ['10', -1, Infinity, null],
    warn: ['console', 5, null],
    subscribers: [{}, 'x', [5], [{ notAnEvent() {} }], [null], null],
    quota: [true, 5, 'x', {}, { maxBytes: 0 }, { maxBytes: '1' }, { maxBytes: Infinity }, { maxBytes: 1, checkIntervalMs: -1 }, { maxBytes: 1, other: 1 }, null],
    stats: [5, true, null, [], { windowMs: 0 }, { top: 1.5 }, { top: 0 }, { other: 1 }],
    telemetry: [5, null, [], { tracerProvider: {} }, { meterProvider: 5 }, { other: 1 }],
  };

  it('refuses a wrong value of every option with ERR_INVALID_OPTION naming it', () => {
    const every = Object.keys(resolvePostgresTenancyOptions({ entities: [Note] })).sort();
    expect(Object.keys(WRONG_VALUES).sort(), 'the table names every option').to.deep.equal(every);
    for (const [name, values] of Object.entries(WRONG_VALUES)) {
      for (const value of values) {
        const options = { entities: [Note], ...(name === 'tenantIdOf' ? { tenantEntity: Note } : {}), [name]: value };
        let error: (Error & { code?: string }) | undefined;
        try {
          resolvePostgresTenancyOptions(options as never);
        } catch (e) {
          error = e as Error & { code?: string };
        }
        const label = `${name}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
        expect(error, label).to.have.property('code', 'ERR_INVALID_OPTION');
        expect(error!.message, label).to.contain(`"tenancy.${name}`);
      }
    }
  });

  it('names the closest option for an unknown key, and SQLite options are unknown here', () => {
    let error: Error | undefined;
    try {
      resolvePostgresTenancyOptions({ entities: [Note], autocreate: true } as never);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.contain('did you mean "autoCreate"');
    for (const sqliteOnly of ['dir', 'namePattern', 'pragmas', 'attach', 'template', 'fileMode']) {
      expect(codeOf(() => resolvePostgresTenancyOptions({ entities: [Note], [sqliteOnly]: 'x' } as never)), sqliteOnly).to.equal('ERR_INVALID_OPTION');
    }
  });
});

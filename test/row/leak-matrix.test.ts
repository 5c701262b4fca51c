import { expect } from 'chai';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { isTenantError } from '@mikro-tenant/row';
import { errorOf } from '../helpers.js';
import { Project, Task } from './fixtures.js';
import { openRowTenancy, type RowEngine, type RowFixture } from './helpers.js';
import { FROM_OTHER_TENANT, SECRET, WITHOUT_TENANT, noTenantEm, type EngineTraits, type LeakPath, type LeakWorld } from './leak-paths.js';

const ENGINES: { engine: RowEngine; traits: EngineTraits; title: string }[] = [
  { engine: 'sqlite', traits: { guard: true, database: false }, title: 'SQLite (ORM-level guard)' },
  { engine: 'pg', traits: { guard: true, database: true }, title: 'PostgreSQL (guard and row level security)' },
  { engine: 'pg-rls-only', traits: { guard: false, database: true }, title: 'PostgreSQL, guard off (row level security alone)' },
];

/** Everything of tenant b, read across tenants: what no path from a may change. */
async function snapshotOfB(world: LeakWorld): Promise<string> {
  return world.tenancy.unscoped(async em => JSON.stringify({
    projects: (await em.find(Project, { tenantId: 'b' } as never, { orderBy: { id: 'asc' } })).map(p => [p.id, p.name]),
    tasks: (await em.find(Task, { tenantId: 'b' } as never, { orderBy: { id: 'asc' } })).map(t => [t.id, t.title]),
  }));
}

/** Fresh rows for one path: a's project and task, b's (named with the secret), and a's task pointing at b's project. */
async function resetWorld(fixture: RowFixture): Promise<LeakWorld> {
  const { tenancy } = fixture;
  return tenancy.unscoped(async em => {
    await em.nativeDelete(Task, {});
    await em.nativeDelete(Project, {});
    const pa = em.create(Project, { name: 'a-project', tenantId: 'a' } as never);
    const pb = em.create(Project, { name: `${SECRET}-project`, tenantId: 'b' } as never);
    const ta = em.create(Task, { title: 'a-task', project: pa, tenantId: 'a' } as never);
    const tb = em.create(Task, { title: `${SECRET}-task`, project: pb, tenantId: 'b' } as never);
    const cross = em.create(Task, { title: 'a-cross-task', project: pb, tenantId: 'a' } as never);
    await em.flush();
    return { tenancy, a: { project: pa.id, task: ta.id }, b: { project: pb.id, task: tb.id }, crossTask: cross.id };
  });
}

/** True when `value` holds anything of tenant b (a name with the secret), walking entities and collections. */
function showsSecret(value: unknown, seen = new WeakSet<object>()): boolean {
  if (typeof value === 'string') {
    return value.includes(SECRET);
  }
  if (typeof value !== 'object' || value === null || seen.has(value)) {
    return false;
  }
  seen.add(value);
  const items = Symbol.iterator in value && typeof (value as { getItems?: unknown }).getItems !== 'function'
    ? [...(value as Iterable<unknown>)]
    : typeof (value as { isInitialized?: () => boolean }).isInitialized === 'function' && (value as { getItems?: unknown }).getItems
      ? ((value as { isInitialized(): boolean }).isInitialized() ? (value as { getItems(): unknown[] }).getItems() : [])
      : Object.values(value);
  return items.some(item => showsSecret(item, seen));
}

function expectedCode(path: LeakPath, traits: EngineTraits): string | undefined {
  const refused = typeof path.refused === 'function' ? path.refused(traits) : path.refused;
  return traits.guard ? refused : undefined;
}

async function tryPath(fixture: RowFixture, traits: EngineTraits, path: LeakPath, asTenant: boolean): Promise<void> {
  const world = await resetWorld(fixture);
  const before = await snapshotOfB(world);
  let seen: unknown;
  const error = await errorOf(async () => {
    seen = asTenant
      ? await world.tenancy.run('a', em => path.attempt(em as SqlEntityManager, world))
      : await path.attempt(noTenantEm(world.tenancy), world);
  });
  const code = expectedCode(path, traits);
  if (code) {
    expect(error, `refused with ${code}`).to.satisfy((e: unknown) => isTenantError(e, code as never));
  } else if (traits.guard && error) {
    throw error;
  }
  // Refused or scoped, tenant b is untouched and unseen.
  expect(showsSecret(seen), 'saw tenant b\'s rows').to.equal(false);
  const counted = seen as { count?: number; expected?: number } | undefined;
  if (counted && typeof counted.count === 'number' && !error) {
    expect(counted.count).to.be.at.most(counted.expected!);
  }
  expect(await snapshotOfB(world), 'changed tenant b\'s rows').to.equal(before);
}

for (const { engine, traits, title } of ENGINES) {
  describe(`row tenancy leak matrix: ${title}`, function () {
    this.timeout(60_000);
    let fixture: RowFixture;
    before(async () => {
      fixture = await openRowTenancy(engine);
      await fixture.tenancy.createTenant('a');
      await fixture.tenancy.createTenant('b');
    });
    after(async () => fixture?.close());

    describe('from tenant a against tenant b\'s rows', () => {
      for (const path of FROM_OTHER_TENANT) {
        const skip = (path.databaseOnly && !traits.database) || (path.ormOnly && !traits.guard);
        const code = expectedCode(path, traits);
        (skip ? it.skip : it)(`${path.name}: ${code ? `refused (${code})` : 'scoped'}`, () => tryPath(fixture, traits, path, true));
      }
    });

    describe('with no tenant active', () => {
      for (const path of WITHOUT_TENANT) {
        const code = expectedCode(path, traits);
        it(`${path.name}: ${code ? `refused (${code})` : 'scoped to no row'}`, () => tryPath(fixture, traits, path, false));
      }
    });
  });
}

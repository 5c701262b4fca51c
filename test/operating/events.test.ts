import { expect } from 'chai';
import { isTenantError, type TenancyEvent } from '@mikro-tenant/core';
import { Note } from '../fixtures/entities.js';
import { errorOf, warningCollector } from '../helpers.js';
import { forEachStrategy } from './fixture.js';

/** Events of one tenancy, as a subscriber receives them. */
function recorder(): { events: TenancyEvent[]; subscriber: { onEvent(event: TenancyEvent): void } } {
  const events: TenancyEvent[] = [];
  return { events, subscriber: { onEvent: event => { events.push(event); } } };
}

function withoutTimes(event: TenancyEvent): Record<string, unknown> {
  const { at, durationMs, ...rest } = event as TenancyEvent & { durationMs?: number };
  expect(Date.parse(at)).to.be.a('number').and.not.NaN;
  if (durationMs !== undefined) {
    expect(durationMs).to.be.a('number').and.at.least(0);
  }
  return rest;
}

forEachStrategy('lifecycle events', fixture => {
  it('createTenant, run, deleteTenant: tenantCreated (how, version), tenantOpened, tenantDeleted, in order', async () => {
    const { events, subscriber } = recorder();
    const tenancy = await fixture().make({ subscribers: [subscriber], migrations: 'base' });
    await tenancy.createTenant('a');
    await tenancy.run('a', em => em.count(Note, {}));
    await tenancy.deleteTenant('a');
    const how = fixture().name === 'sqlite' ? 'template' : 'script';
    expect(events.map(withoutTimes)).to.deep.equal([
      { type: 'tenantCreated', tenantId: 'a', how, schemaVersion: 'Migration001Notes' },
      { type: 'tenantOpened', tenantId: 'a' },
      { type: 'tenantDeleted', tenantId: 'a' },
    ]);
  });

  it('a first use with autoCreate: tenantCreated inside the cold open, once for concurrent first uses', async () => {
    const { events, subscriber } = recorder();
    const tenancy = await fixture().make({ subscribers: [subscriber] });
    await Promise.all([1, 2, 3].map(() => tenancy.run('b', em => em.count(Note, {}))));
    expect(events.map(e => e.type)).to.deep.equal(['tenantCreated', 'tenantOpened']);
  });

  it('eviction past maxOpen: tenantEvicted with reason idle; close(): reason closing', async () => {
    const { events, subscriber } = recorder();
    const tenancy = await fixture().make({ subscribers: [subscriber], maxOpen: 1 });
    await tenancy.run('a', em => em.count(Note, {}));
    await tenancy.run('b', em => em.count(Note, {}));
    await tenancy.close();
    const evictions = events.filter(e => e.type === 'tenantEvicted').map(withoutTimes);
    expect(evictions).to.deep.equal([
      { type: 'tenantEvicted', tenantId: 'a', reason: 'idle' },
      { type: 'tenantEvicted', tenantId: 'b', reason: 'closing' },
    ]);
  });

  it('a deletion is not an eviction', async () => {
    const { events, subscriber } = recorder();
    const tenancy = await fixture().make({ subscribers: [subscriber] });
    await tenancy.run('a', em => em.count(Note, {}));
    await tenancy.deleteTenant('a');
    expect(events.map(e => e.type)).to.deep.equal(['tenantCreated', 'tenantOpened', 'tenantDeleted']);
  });

  it('migrateTenant: tenantMigrated from, to, executed; nothing pending: no event', async () => {
    const v1 = await fixture().make({ migrations: 'base' });
    await v1.createTenant('a');
    await v1.close();
    const { events, subscriber } = recorder();
    const v2 = await fixture().make({ subscribers: [subscriber], migrations: 'two' });
    await v2.migrateTenant('a');
    await v2.migrateTenant('a');
    expect(events.filter(e => e.type.startsWith('tenantMigrat')).map(withoutTimes)).to.deep.equal([
      { type: 'tenantMigrated', tenantId: 'a', from: 'Migration001Notes', to: 'Migration002NoteIndex', executed: ['Migration002NoteIndex'] },
    ]);
  });

  it('a failing migration: tenantMigrationFailed with the error code, the tenant stays at from', async () => {
    const v1 = await fixture().make({ migrations: 'base' });
    await v1.createTenant('a');
    await v1.close();
    const { events, subscriber } = recorder();
    const broken = await fixture().make({ subscribers: [subscriber], migrations: 'broken' });
    expect(await errorOf(() => broken.migrateTenant('a'))).to.have.property('code', 'ERR_TENANT_MIGRATION_FAILED');
    const failed = events.filter(e => e.type === 'tenantMigrationFailed');
    expect(failed).to.have.length(1);
    expect(withoutTimes(failed[0]!)).to.deep.include({ tenantId: 'a', from: 'Migration001Notes' });
    expect((failed[0] as { error: { code: string } }).error.code).to.equal('ERR_TENANT_MIGRATION_FAILED');
  });

  it('a failing provisioning: tenantProvisioningFailed, and the error reaches the caller unchanged', async () => {
    const { events, subscriber } = recorder();
    const broken = await fixture().make({ subscribers: [subscriber], migrations: 'broken' });
    if (fixture().name === 'sqlite') {
      await (broken as unknown as { clearTemplate(): Promise<number> }).clearTemplate();
    }
    const error = await errorOf(() => broken.createTenant('c'));
    expect(error).to.have.property('code', 'ERR_TENANT_PROVISIONING_FAILED');
    expect(events.map(e => e.type)).to.deep.equal(['tenantProvisioningFailed']);
    expect((events[0] as { error: { code: string } }).error.code).to.equal('ERR_TENANT_PROVISIONING_FAILED');
    expect(await broken.tenantExists('c')).to.equal(false);
  });

  it('a throwing listener is reported through warn (MIKRO_TENANT_LISTENER) and breaks nothing; later listeners still run', async () => {
    const { warn, warnings } = warningCollector();
    const seen: string[] = [];
    const tenancy = await fixture().make({
      warn,
      subscribers: [
        { tenantCreated() { throw new Error('listener bug'); }, onEvent() { throw new Error('listener bug'); } },
        { onEvent: e => { seen.push(e.type); } },
      ],
    });
    await tenancy.createTenant('a');
    await tenancy.run('a', async em => { em.create(Note, { text: 'kept' }); await em.flush(); });
    expect(await tenancy.run('a', em => em.count(Note, {}))).to.equal(1);
    expect(seen).to.deep.equal(['tenantCreated', 'tenantOpened']);
    expect(warnings.map(w => w.code)).to.deep.equal(['MIKRO_TENANT_LISTENER', 'MIKRO_TENANT_LISTENER', 'MIKRO_TENANT_LISTENER']);
  });

  it('events.on() and its unsubscribe; subscribe() later; no listener, no work', async () => {
    const tenancy = await fixture().make();
    const created: string[] = [];
    const off = tenancy.events.on('tenantCreated', e => { created.push(e.tenantId); });
    await tenancy.createTenant('a');
    off();
    await tenancy.createTenant('b');
    expect(created).to.deep.equal(['a']);
    expect(tenancy.events.listened).to.equal(false);
  });

  it('the subscribers option is validated before anything happens (ERR_INVALID_OPTION)', async () => {
    for (const subscribers of [{}, [42], [{ notAnEvent() {} }]]) {
      const error = await errorOf(() => fixture().make({ subscribers: subscribers as never }));
      expect(isTenantError(error, 'ERR_INVALID_OPTION'), String(error)).to.equal(true);
    }
  });
});

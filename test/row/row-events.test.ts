import { expect } from 'chai';
import type { TenancyEvent } from '@mikro-tenant/core';
import { errorOf } from '../helpers.js';
import { Project } from './fixtures.js';
import { openRowTenancy, type RowEngine } from './helpers.js';

for (const engine of ['sqlite', 'pg'] as RowEngine[]) {
  describe(`row strategy: lifecycle events from core (${engine})`, () => {
    it('registering, opening and deleting a tenant fire tenantCreated (how: registered), tenantOpened, tenantDeleted', async () => {
      const events: TenancyEvent[] = [];
      const { tenancy, close } = await openRowTenancy(engine, { subscribers: [{ onEvent: e => { events.push(e); } }] });
      try {
        await tenancy.createTenant('a');
        await tenancy.run('a', em => em.count(Project, {}));
        await tenancy.deleteTenant('a');
        expect(events.map(e => e.type)).to.deep.equal(['tenantCreated', 'tenantOpened', 'tenantDeleted']);
        expect(events[0]).to.deep.include({ tenantId: 'a', how: 'registered' });
      } finally {
        await close();
      }
    });

    it('a quota is refused (ERR_INVALID_OPTION): tenants share tables, so there is no size of one to limit', async () => {
      expect(await errorOf(() => openRowTenancy(engine, { quota: { maxBytes: 1 } } as never))).to.have.property('code', 'ERR_INVALID_OPTION');
    });
  });
}

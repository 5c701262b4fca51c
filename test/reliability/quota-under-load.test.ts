import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { Note } from '../fixtures/entities.js';
import { forEachStrategy, sqliteTenantFile } from '../operating/fixture.js';
import { report, size } from './support.js';

/**
 * A tenant writes past its quota in a loop while readers read it and other tenants write: the over-quota
 * tenant gets only ERR_TENANT_QUOTA_EXCEEDED (never another error), its reads keep working, the others get
 * no error at all, and every SQLite file passes `integrity_check`.
 */
forEachStrategy('reliability: a tenant over its quota under load', fixture => {
  it('0 corrupted files, 0 errors for the others, the over-quota tenant reads on', async function () {
    this.timeout(60_000);
    const tenancy = await fixture().make({
      quota: { maxBytes: id => (id === 'hog' ? 96 * 1024 : undefined), checkIntervalMs: 0 },
      maxOpen: 4,
    });
    const rounds = size(60, 1200);
    const counts = { hogWrites: 0, hogRefused: 0, hogOtherErrors: [] as string[], reads: 0, readErrors: [] as string[], otherWrites: 0, otherErrors: [] as string[] };
    const note = (em: Parameters<Parameters<typeof tenancy.run>[1]>[0]) => {
      for (let i = 0; i < 8; i++) {
        em.create(Note, { text: randomBytes(120).toString('hex') });
      }
      return em.flush();
    };
    const hog = (async () => {
      for (let i = 0; i < rounds; i++) {
        try {
          await tenancy.run('hog', note);
          counts.hogWrites++;
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === 'ERR_TENANT_QUOTA_EXCEEDED') {
            counts.hogRefused++;
          } else {
            counts.hogOtherErrors.push(`${code}: ${(error as Error).message}`);
          }
        }
      }
    })();
    const reader = (async () => {
      for (let i = 0; i < rounds; i++) {
        try {
          await tenancy.run('hog', em => em.find(Note, {}, { limit: 20, orderBy: { id: 'desc' } }));
          counts.reads++;
        } catch (error) {
          counts.readErrors.push((error as Error).message);
        }
      }
    })();
    const others = ['n1', 'n2', 'n3'].map(async id => {
      for (let i = 0; i < rounds / 2; i++) {
        try {
          await tenancy.run(id, note);
          counts.otherWrites++;
        } catch (error) {
          counts.otherErrors.push(`${id}: ${(error as Error).message}`);
        }
      }
    });
    await Promise.all([hog, reader, ...others]);
    report(`quota under load (${fixture().name})`, {
      hogWrites: counts.hogWrites, hogRefused: counts.hogRefused, reads: counts.reads, otherWrites: counts.otherWrites,
    });
    expect(counts.hogOtherErrors).to.deep.equal([]);
    expect(counts.readErrors).to.deep.equal([]);
    expect(counts.otherErrors).to.deep.equal([]);
    expect(counts.hogRefused).to.be.above(0);
    expect(await tenancy.run('hog', em => em.count(Note, {}))).to.equal(counts.hogWrites * 8);
    await tenancy.close();
    if (fixture().name === 'sqlite') {
      for (const id of ['hog', 'n1', 'n2', 'n3']) {
        const db = new Database(sqliteTenantFile(fixture().root, id), { readonly: true });
        try {
          expect(db.pragma('integrity_check', { simple: true }), id).to.equal('ok');
        } finally {
          db.close();
        }
      }
    }
  });
});

import { expect } from 'chai';
import { TenantError, canonicalTenantId, isValidTenantId, MAX_TENANT_ID_LENGTH } from '@mikro-tenant/core';
import { HOSTILE_IDS, LOOK_ALIKE_VALID_PAIRS } from './hostile-ids.js';

describe('canonicalTenantId', () => {
  it('accepts lower-case words, digits, dashes and underscores', () => {
    for (const id of ['a', 'acme', 'acme-eu', 'user_42', '0', '7f3a9c', 'x'.repeat(MAX_TENANT_ID_LENGTH)]) {
      expect(canonicalTenantId(id)).to.equal(id);
    }
  });

  it('turns non-negative safe integers and bigints into their decimal string', () => {
    expect(canonicalTenantId(42)).to.equal('42');
    expect(canonicalTenantId(0)).to.equal('0');
    expect(canonicalTenantId(12345678901234567890n)).to.equal('12345678901234567890');
  });

  it(`rejects every one of ${HOSTILE_IDS.length} hostile ids with ERR_INVALID_TENANT_ID`, () => {
    expect(HOSTILE_IDS.length).to.be.greaterThan(40);
    for (const id of HOSTILE_IDS) {
      let error: unknown;
      try {
        canonicalTenantId(id);
      } catch (e) {
        error = e;
      }
      expect(error, `id ${String(typeof id === 'symbol' ? id.toString() : JSON.stringify(id))}`).to.be.instanceOf(TenantError);
      expect((error as TenantError).code).to.equal('ERR_INVALID_TENANT_ID');
      expect(isValidTenantId(id)).to.equal(false);
    }
  });

  it('keeps ids that differ only in punctuation apart (no slugifying)', () => {
    for (const [a, b] of LOOK_ALIKE_VALID_PAIRS) {
      expect(canonicalTenantId(a)).to.not.equal(canonicalTenantId(b));
    }
  });

  it('never echoes control characters in the error message', () => {
    let error: unknown;
    try {
      canonicalTenantId('a\u001b[2Jb');
    } catch (e) {
      error = e;
    }
    // Checked after the try: an id that is accepted fails here, instead of an expect.fail() swallowed by a catch.
    expect(error).to.be.instanceOf(TenantError).and.have.property('code', 'ERR_INVALID_TENANT_ID');
    expect((error as Error).message).to.not.include('\u001b');
  });
});

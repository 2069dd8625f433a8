import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { signWebhook, verifyWebhookSignature } from './verify.ts';

const NOW = 1_800_000_000;
const SECRET = 'whsec_test_secret';

describe('verifyWebhookSignature', () => {
  test('a header made as SPEC 5 says verifies', () => {
    const body = '{"id":"evt_1","type":"payout.succeeded"}';
    const mac = createHmac('sha256', SECRET).update(`${NOW}.${body}`).digest('hex');
    assert.deepEqual(verifyWebhookSignature(body, `t=${NOW},v1=${mac}`, SECRET, { nowS: NOW }), { ok: true });
    assert.deepEqual(verifyWebhookSignature(Buffer.from(body), `t=${NOW},v1=${mac}`, [SECRET], { nowS: NOW }), { ok: true });
  });

  test('says which check failed', () => {
    const body = '{}';
    const header = signWebhook(body, [SECRET], NOW);
    assert.deepEqual(verifyWebhookSignature(body, undefined, SECRET, { nowS: NOW }), { ok: false, reason: 'MISSING_HEADER' });
    assert.deepEqual(verifyWebhookSignature(body, '', SECRET, { nowS: NOW }), { ok: false, reason: 'MISSING_HEADER' });
    for (const bad of ['garbage', 't=abc,v1=00', `t=${NOW}`, `v1=${'a'.repeat(64)}`, `t=${NOW},v1=xyz`, `t=${NOW},t=${NOW},v1=${'a'.repeat(64)}`]) {
      assert.deepEqual(verifyWebhookSignature(body, bad, SECRET, { nowS: NOW }), { ok: false, reason: 'MALFORMED_HEADER' }, bad);
    }
    assert.deepEqual(verifyWebhookSignature(body, header, SECRET, { nowS: NOW + 301 }), { ok: false, reason: 'TIMESTAMP_OUT_OF_TOLERANCE' });
    assert.deepEqual(verifyWebhookSignature(body, header, SECRET, { nowS: NOW - 301 }), { ok: false, reason: 'TIMESTAMP_OUT_OF_TOLERANCE' });
    assert.deepEqual(verifyWebhookSignature(body, header, SECRET, { nowS: NOW + 300 }), { ok: true });
    assert.deepEqual(verifyWebhookSignature(body, header, SECRET, { nowS: NOW + 10, toleranceS: 5 }), { ok: false, reason: 'TIMESTAMP_OUT_OF_TOLERANCE' });
    assert.deepEqual(verifyWebhookSignature(body, header, 'whsec_other', { nowS: NOW }), { ok: false, reason: 'NO_MATCHING_SIGNATURE' });
  });

  test('during a rotation either secret verifies a header with two v1= values', () => {
    const body = '{"a":1}';
    const header = signWebhook(body, ['whsec_new', 'whsec_old'], NOW);
    assert.equal(header.split(',').filter((p) => p.startsWith('v1=')).length, 2);
    assert.deepEqual(verifyWebhookSignature(body, header, 'whsec_new', { nowS: NOW }), { ok: true });
    assert.deepEqual(verifyWebhookSignature(body, header, 'whsec_old', { nowS: NOW }), { ok: true });
    assert.deepEqual(verifyWebhookSignature(body, header, ['whsec_x', 'whsec_old'], { nowS: NOW }), { ok: true });
    assert.deepEqual(verifyWebhookSignature(body, header, 'whsec_x', { nowS: NOW }), { ok: false, reason: 'NO_MATCHING_SIGNATURE' });
  });

  test('property: any body round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 4_000_000_000 }), (bytes, secret, t) => {
        const body = Buffer.from(bytes);
        const header = signWebhook(body, [secret], t);
        assert.deepEqual(verifyWebhookSignature(body, header, secret, { nowS: t }), { ok: true });
      }),
    );
  });

  test('property: any single-byte change of the body fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, delta) => {
          const body = Buffer.from(bytes);
          const header = signWebhook(body, [SECRET], NOW);
          const changed = Buffer.from(body);
          const i = at % changed.length;
          changed[i] = (changed[i]! + delta) % 256;
          assert.deepEqual(verifyWebhookSignature(changed, header, SECRET, { nowS: NOW }), { ok: false, reason: 'NO_MATCHING_SIGNATURE' });
        },
      ),
    );
  });
});

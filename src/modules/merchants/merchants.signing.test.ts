import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../platform/config.ts';
import { SecretBox } from './merchants.secrets.ts';
import { computeSignature, signatureMatches, signingPayload, signMerchantRequest } from './merchants.signing.ts';
import { canTransition, merchantStatuses, merchantTransitions } from './merchants.types.ts';

describe('request signing (SPEC 5)', () => {
  test('the signature is hex HMAC-SHA256 over timestamp, METHOD, path with query and body, joined by newlines', () => {
    const expected = createHmac('sha256', 'csk_secret').update('1763798400\nPOST\n/v1/payouts?x=1\n{"a":1}').digest('hex');
    assert.equal(computeSignature('csk_secret', '1763798400', 'post', '/v1/payouts?x=1', '{"a":1}'), expected);
    assert.deepEqual(signMerchantRequest({ keyId: 'mk_1', secret: 'csk_secret', method: 'POST', path: '/v1/payouts?x=1', body: '{"a":1}', timestamp: 1763798400 }), {
      'x-coffer-key': 'mk_1',
      'x-coffer-timestamp': '1763798400',
      'x-coffer-signature': expected,
    });
  });

  test('bytes are signed as sent: a Buffer body and its UTF-8 string sign alike, an empty body is empty', () => {
    const text = 'name,amount\n张三,1.00\n';
    assert.equal(computeSignature('s', '1', 'POST', '/p', text), computeSignature('s', '1', 'POST', '/p', Buffer.from(text, 'utf8')));
    assert.equal(signingPayload('1', 'GET', '/v1/merchant', '').toString(), '1\nGET\n/v1/merchant\n');
  });

  test('comparison accepts either case and refuses anything that is not 64 hex digits', () => {
    const sig = computeSignature('s', '1', 'GET', '/', '');
    assert.equal(signatureMatches(sig, sig), true);
    assert.equal(signatureMatches(sig.toUpperCase(), sig), true);
    assert.equal(signatureMatches(sig.slice(1), sig), false);
    assert.equal(signatureMatches(`${sig.slice(0, 63)}g`, sig), false);
    assert.equal(signatureMatches(computeSignature('t', '1', 'GET', '/', ''), sig), false);
  });
});

describe('API secrets at rest (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32));

  test('a sealed secret opens only with the same key and for the same API key id', () => {
    const sealed = box.seal('csk_abc', 'mk_1');
    assert.equal(sealed.includes('csk_abc'), false);
    assert.equal(box.open(sealed, 'mk_1'), 'csk_abc');
    assert.equal(box.open(sealed, 'mk_2'), undefined, 'bound to its key id: copying it to another row does not work');
    assert.equal(new SecretBox(randomBytes(32)).open(sealed, 'mk_1'), undefined, 'another encryption key');
    const parts = sealed.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    assert.equal(box.open(parts.join('.'), 'mk_1'), undefined, 'altered ciphertext');
    assert.notEqual(box.seal('csk_abc', 'mk_1'), sealed, 'a fresh IV every time');
  });

  test('the key file is made once (mode 0600) and read back by the next start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-secrets-'));
    try {
      const file = path.join(dir, 'keys', 'merchant-secrets.key');
      const first = SecretBox.fromConfig({ secretsKey: undefined, secretsKeyPath: file });
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const sealed = first.seal('csk_xyz', 'mk_9');
      assert.equal(SecretBox.fromConfig({ secretsKey: undefined, secretsKeyPath: file }).open(sealed, 'mk_9'), 'csk_xyz');
      const fromEnv = SecretBox.fromConfig({ secretsKey: fs.readFileSync(file, 'utf8').trim(), secretsKeyPath: '/nonexistent' });
      assert.equal(fromEnv.open(sealed, 'mk_9'), 'csk_xyz');
      assert.throws(() => SecretBox.fromConfig({ secretsKey: 'c2hvcnQ=', secretsKeyPath: file }), /32 bytes/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration of the secrets key', () => {
  test('MERCHANT_SECRETS_KEY must be base64 of 32 bytes; unset means the key file', () => {
    assert.throws(() => loadConfig({ MERCHANT_SECRETS_KEY: 'abc' }), (err: unknown) => err instanceof ConfigError && /MERCHANT_SECRETS_KEY/.test(err.message));
    assert.throws(() => loadConfig({ MERCHANT_SECRETS_KEY: randomBytes(16).toString('base64') }), ConfigError);
    const key = randomBytes(32).toString('base64');
    assert.equal(loadConfig({ MERCHANT_SECRETS_KEY: key }).merchants.secretsKey, key);
    const fromFile = loadConfig({ KEYS_DIR: '/srv/coffer/keys' }).merchants;
    assert.equal(fromFile.secretsKey, undefined);
    assert.equal(fromFile.secretsKeyPath, '/srv/coffer/keys/merchant-secrets.key');
    assert.equal(loadConfig({}).merchants.signatureWindowS, 300);
  });
});

describe('merchant status machine', () => {
  test('PENDING_REVIEW -> ACTIVE <-> SUSPENDED, nothing else', () => {
    const allowed = merchantStatuses.flatMap((from) => merchantStatuses.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    assert.deepEqual(allowed.sort(), ['ACTIVE->SUSPENDED', 'PENDING_REVIEW->ACTIVE', 'SUSPENDED->ACTIVE']);
    assert.deepEqual(Object.keys(merchantTransitions).sort(), [...merchantStatuses].sort());
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_SCRYPT_PARAMS, hashPassword, needsRehash, parseHash, verifyPassword } from './users.password.ts';
import { normalizeMobile, passwordProblem } from './users.validation.ts';

const CHEAP = { ln: 10, r: 8, p: 1 };

describe('password hashing (scrypt)', () => {
  test('a hash verifies its own password and no other', async () => {
    const hash = await hashPassword('correct horse 1');
    assert.equal(await verifyPassword('correct horse 1', hash), true);
    assert.equal(await verifyPassword('correct horse 2', hash), false);
    assert.equal(await verifyPassword('', hash), false);
    assert.equal(await verifyPassword('Correct horse 1', hash), false);
  });

  test('the hash is a self-describing string carrying the parameters, a 16-byte salt and a 32-byte key', async () => {
    const hash = await hashPassword('s3cret-pass');
    assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
    const parsed = parseHash(hash);
    assert.ok(parsed);
    assert.deepEqual(parsed.params, DEFAULT_SCRYPT_PARAMS);
    assert.equal(parsed.salt.length, 16);
    assert.equal(parsed.key.length, 32);
    assert.ok(!hash.includes('s3cret-pass'));
  });

  test('the same password hashes differently each time (random salt)', async () => {
    const [a, b] = await Promise.all([hashPassword('same-pass-1', CHEAP), hashPassword('same-pass-1', CHEAP)]);
    assert.notEqual(a, b);
    assert.notEqual(parseHash(a)!.salt.toString('hex'), parseHash(b)!.salt.toString('hex'));
  });

  test('a hash made at an older cost still verifies, and asks to be rehashed at the current cost', async () => {
    const old = await hashPassword('upgrade-me-1', CHEAP);
    assert.match(old, /^\$scrypt\$ln=10,r=8,p=1\$/);
    assert.equal(await verifyPassword('upgrade-me-1', old), true);
    assert.equal(needsRehash(old), true);
    assert.equal(needsRehash(old, CHEAP), false);
    assert.equal(needsRehash(await hashPassword('fresh-one-1')), false);
  });

  test('malformed or absurd hashes never verify (and never allocate the memory they name)', async () => {
    const good = await hashPassword('whatever-1', CHEAP);
    const tampered = good.replace('ln=10', 'ln=11');
    assert.equal(await verifyPassword('whatever-1', tampered), false);
    for (const bad of ['', 'plain', '$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', good.slice(0, -4)]) {
      assert.equal(await verifyPassword('whatever-1', bad), false, bad);
    }
    assert.equal(parseHash('$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='), undefined);
  });

  test('parameters out of range are refused when hashing', async () => {
    await assert.rejects(hashPassword('x-password-1', { ln: 4, r: 8, p: 1 }));
  });

  test('Unicode passwords are compared in one normal form', async () => {
    const hash = await hashPassword('caf\u00e9-pass-1', CHEAP);
    assert.equal(await verifyPassword('cafe\u0301-pass-1', hash), true);
  });
});

describe('mobile and password rules', () => {
  test('China mobiles and E.164 numbers are accepted; +86 is stored in the 11-digit form', () => {
    assert.equal(normalizeMobile('13800138000'), '13800138000');
    assert.equal(normalizeMobile('+8613800138000'), '13800138000');
    assert.equal(normalizeMobile('+447700900123'), '+447700900123');
    for (const bad of ['', '12800138000', '1380013800', '138001380001', '138 0013 8000', '+0123456789', '+1234567', 'abc', '+8612345']) {
      assert.equal(normalizeMobile(bad), undefined, bad);
    }
  });

  test('weak passwords are refused with a reason', () => {
    assert.match(passwordProblem('short1', undefined)!, /at least 8/);
    assert.match(passwordProblem('abcdefgh', undefined)!, /two of/);
    assert.match(passwordProblem('12345678', undefined)!, /two of/);
    assert.match(passwordProblem('x'.repeat(129), undefined)!, /at most/);
    assert.match(passwordProblem('a13800138000', '13800138000')!, /mobile/);
    assert.equal(passwordProblem('password123', undefined), undefined);
    assert.equal(passwordProblem('Passw0rd!', undefined), undefined);
    assert.equal(passwordProblem('correcthorsebatterystaple', undefined), undefined);
  });
});

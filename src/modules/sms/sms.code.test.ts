import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { codeMatches, hashCode, isCodeFormat, loadCodeKey, newCode } from './sms.code.ts';

describe('sms codes', () => {
  test('codes are 6 digits, leading zeros kept, and spread over the whole range', () => {
    const codes = Array.from({ length: 5000 }, () => newCode());
    for (const code of codes) assert.match(code, /^\d{6}$/);
    assert.ok(new Set(codes).size > 4900, 'codes repeat rarely');
    assert.ok(codes.some((c) => c.startsWith('0')), 'some codes start with 0');
  });

  test('the stored hash is keyed and bound to the challenge', () => {
    const key = Buffer.alloc(32, 7);
    const other = Buffer.alloc(32, 8);
    const stored = hashCode(key, 'smc_a', '123456');
    assert.ok(codeMatches(key, 'smc_a', '123456', stored), 'the right code matches');
    assert.equal(codeMatches(key, 'smc_a', '123457', stored), false, 'a wrong code does not');
    assert.equal(codeMatches(key, 'smc_b', '123456', stored), false, 'the same code of another challenge does not');
    assert.equal(codeMatches(other, 'smc_a', '123456', stored), false, 'without the key nothing matches');
    assert.notEqual(hashCode(key, 'smc_a', '123456'), hashCode(key, 'smc_b', '123456'));
    assert.equal(stored.includes('123456'), false, 'the code is not in the hash');
  });

  test('only 6-digit strings are codes', () => {
    for (const bad of ['12345', '1234567', '12345a', ' 123456', '', 123456, null]) assert.equal(isCodeFormat(bad), false, String(bad));
    assert.ok(isCodeFormat('000000'), '000000 is a code');
  });

  test('the key file is generated once (0600) and reused; a configured key wins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-sms-key-'));
    try {
      const first = loadCodeKey(undefined, dir);
      assert.equal(first.length, 32);
      assert.deepEqual(loadCodeKey(undefined, dir), first);
      assert.equal(fs.statSync(path.join(dir, 'sms-code.key')).mode & 0o777, 0o600);
      assert.deepEqual(loadCodeKey('a-configured-key-0123456789', dir), Buffer.from('a-configured-key-0123456789'));
      assert.throws(() => loadCodeKey('short', dir), /at least 16/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

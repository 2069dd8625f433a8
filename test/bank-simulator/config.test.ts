import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BankConfigError, DEFAULT_NOTIFY_SCHEDULE_S, loadBankConfig } from '../../src/bank-simulator/config.ts';
import { maskCardNumber, normaliseRegisterForm, parsePlatformRequest, validateRegisterForm } from '../../src/bank-simulator/validation.ts';

describe('bank simulator configuration', () => {
  it('has documented defaults', () => {
    const config = loadBankConfig({ DATA_DIR: '/tmp/coffer-data' });
    assert.equal(config.port, 3001);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.publicUrl, 'http://localhost:3001');
    assert.equal(config.storeDir, path.join('/tmp/coffer-data', 'bank', 'db'));
    assert.equal(config.keysDir, path.join('/tmp/coffer-data', 'bank', 'keys'));
    assert.equal(config.platformPublicKeyPath, path.join('/tmp/coffer-data', 'keys', 'platform-public.pem'));
    assert.equal(config.platformNo, 'coffer');
    assert.equal(config.sandbox, true);
    assert.equal(config.adminToken, undefined);
    assert.equal(config.demoCardBalance, '100000.00');
    assert.deepEqual([config.passwordMaxFailures, config.passwordLockS], [5, 1800]);
    assert.deepEqual(config.notifyScheduleS, DEFAULT_NOTIFY_SCHEDULE_S);
    assert.equal(DEFAULT_NOTIFY_SCHEDULE_S.length, 16);
    assert.ok(DEFAULT_NOTIFY_SCHEDULE_S.reduce((a, b) => a + b, 0) > 3 * 3600, 'several hours');
    assert.equal(config.notifyScale, 1);
  });

  it('uses a PostgreSQL server instead of the embedded store when BANK_DATABASE_URL is set', () => {
    const config = loadBankConfig({ BANK_DATABASE_URL: 'postgres://u@h/bank' });
    assert.equal(config.databaseUrl, 'postgres://u@h/bank');
    assert.equal(config.storeDir, undefined);
  });

  it('refuses bad values, naming the variable', () => {
    const bad: Record<string, string>[] = [
      { BANK_PORT: 'x' },
      { BANK_PORT: '70000' },
      { BANK_PUBLIC_URL: 'not a url' },
      { BANK_DATABASE_URL: 'mysql://x' },
      { SANDBOX: 'maybe' },
      { BANK_DEMO_CARD_BALANCE: '1e5' },
      { BANK_NOTIFY_SCHEDULE_S: '0,fast' },
      { BANK_NOTIFY_SCALE: '0' },
      { BANK_PASSWORD_MAX_FAILURES: '0' },
    ];
    for (const env of bad) {
      const name = Object.keys(env)[0]!;
      assert.throws(() => loadBankConfig(env), (err: unknown) => err instanceof BankConfigError && err.message.includes(name), name);
    }
  });
});

describe('bank simulator input checks', () => {
  const base = { requestNo: 'r1', userNo: 'u1', notifyUrl: 'http://p/gateway', callbackUrl: 'http://p/back', timestamp: 't' };

  it('reads amounts as decimal strings into minor units', () => {
    const parsed = parsePlatformRequest(JSON.stringify({ ...base, amount: '100.50', fee: '2' }), 'WITHDRAW');
    assert.ok(parsed.ok);
    assert.deepEqual([parsed.value.amountMinor, parsed.value.feeMinor, parsed.value.currency], [10050n, 200n, 'CNY']);
  });

  it('refuses malformed platform requests', () => {
    const bad: [unknown, string][] = [
      ['{', 'not JSON'],
      [{ ...base, amount: 100 }, 'amount'],
      [{ ...base, amount: '1.00', fee: '1.00' }, 'fee'],
      [{ ...base, amount: '1.00', currency: 'XXX' }, 'currency'],
      [{ ...base, callbackUrl: 'javascript:alert(1)', amount: '1.00' }, 'callbackUrl'],
      [{ ...base, requestNo: '' , amount: '1.00'}, 'requestNo'],
    ];
    for (const [data, hint] of bad) {
      const parsed = parsePlatformRequest(typeof data === 'string' ? data : JSON.stringify(data), 'WITHDRAW');
      assert.equal(parsed.ok, false, hint);
      if (!parsed.ok) assert.match(parsed.message, new RegExp(hint), hint);
    }
  });

  it('checks the account-opening form and masks card numbers', () => {
    const form = normaliseRegisterForm({ realName: ' Li Si ', idNumber: '11010119900307123x', cardNumber: '6222 0000 1111 2222', bankCode: 'cmb', mobile: '138-0013-8000', password: 'abcdef', passwordConfirm: 'abcdef' });
    assert.deepEqual(validateRegisterForm(form), {});
    assert.equal(form.idNumber, '11010119900307123X');
    assert.equal(maskCardNumber(form.cardNumber), '6222********2222');
    const errors = validateRegisterForm({ ...form, idNumber: '1234', cardNumber: '12', password: 'abc', passwordConfirm: 'abc' });
    assert.deepEqual(Object.keys(errors).sort(), ['cardNumber', 'idNumber', 'password']);
  });
});

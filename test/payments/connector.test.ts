/**
 * HttpChannelConnector against the bank simulator as the separate program it
 * is (a child process, real HTTP): signed answers believed, and the three
 * outcomes a caller must tell apart — answered, unreachable (never sent: safe
 * to try elsewhere) and unknown (sent, no believable answer: query it).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureKeyPair, type KeyPair, signText } from '../../src/protocol/depository.ts';
import type { ChannelCard } from '../../src/protocol/payment-channel.ts';
import { BankPublicKey } from '../../src/platform/bank-key.ts';
import { type ChannelCallOutcome, HttpChannelConnector } from '../../src/modules/payments/payments.connector.ts';
import { bankEnv, PLATFORM_NO, platformKeys, seedBankKeys, tempDir, uniqueNo } from '../bank-simulator/support.ts';
import { type BankChild, freePort, startBankChild } from '../browser/support.ts';

const CARD: ChannelCard = { number: '6222020000004321', holderName: 'Li Lei', mobile: '13912345678', bankCode: 'ICBC' };
const quietLogger = { error: () => {} };

function debitData(extra: Partial<ChannelCard> = {}) {
  return { attemptNo: uniqueNo('att'), amount: '42.00', currency: 'CNY', card: { ...CARD, ...extra } };
}

function answered<T>(outcome: ChannelCallOutcome<T>): { httpStatus: number; data: T } {
  assert.equal(outcome.kind, 'answered', JSON.stringify(outcome));
  return outcome as { kind: 'answered'; httpStatus: number; data: T };
}

function notAnswered<T>(outcome: ChannelCallOutcome<T>, kind: 'unknown' | 'unreachable', why: RegExp): void {
  assert.equal(outcome.kind, kind, JSON.stringify(outcome));
  const { error } = outcome as { error: string };
  assert.match(error, why);
  assert.ok(!error.includes(CARD.number), 'a card number never appears in an error');
}

/** A server that is not the bank, answering every call with `answer`. */
async function impostor(answer: () => object): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer())));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('HttpChannelConnector against the bank simulator process', () => {
  let dir: string;
  let platform: KeyPair;
  let bankKeys: KeyPair;
  let bank: BankChild;
  let bankPublicKey: BankPublicKey;

  function connector(overrides: { baseUrl?: (code: string) => string; timeoutMs?: number; platformNo?: string; bankKey?: BankPublicKey } = {}) {
    return new HttpChannelConnector({
      baseUrl: overrides.baseUrl ?? ((code) => `${bank.url}/channels/${code}`),
      platformNo: overrides.platformNo ?? PLATFORM_NO,
      platformPrivateKey: platform.privateKey,
      bankPublicKey: overrides.bankKey ?? bankPublicKey,
      timeoutMs: overrides.timeoutMs ?? 5000,
    });
  }

  async function setChannel(code: string, patch: object): Promise<void> {
    const response = await fetch(`${bank.url}/sandbox/channels/${code}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
    assert.equal(response.status, 200, await response.text());
  }

  before(async () => {
    dir = tempDir('connector');
    platform = platformKeys(dir);
    seedBankKeys(dir);
    bankKeys = ensureKeyPair(path.join(dir, 'bank', 'keys'), 'bank');
    bankPublicKey = new BankPublicKey(bankKeys.publicKeyPath, quietLogger);
    bank = await startBankChild(bankEnv(dir, platform, { BANK_CHANNEL_HANG_MS: '20000' }));
  });
  after(async () => {
    await bank?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answered: SEND_SMS, CONFIRM with the texted code, QUERY and DEBIT come back verified', async () => {
    const channels = connector();
    const quick = debitData();
    const sms = answered(await channels.sendSms('QP_ALPHA', quick));
    assert.deepEqual([sms.httpStatus, sms.data.status, sms.data.attemptNo], [200, 'SMS_SENT', quick.attemptNo]);
    const texted = (await (await fetch(`${bank.url}/sandbox/channel-sms?mobile=${CARD.mobile}`)).json()) as { attemptNo: string; code: string }[];
    const code = texted.find((s) => s.attemptNo === quick.attemptNo)!.code;
    const paid = answered(await channels.confirm('QP_ALPHA', { attemptNo: quick.attemptNo, smsCode: code }));
    assert.deepEqual([paid.data.status, paid.data.amount], ['SUCCESS', '42.00']);
    assert.equal(answered(await channels.query('QP_ALPHA', quick.attemptNo)).data.channelRef, paid.data.channelRef);

    const direct = answered(await channels.debit('DD_GAMMA', debitData({ number: '6222020000000051' })));
    assert.deepEqual([direct.data.status, direct.data.errorCode, direct.data.retryable], ['FAIL', 'INSUFFICIENT_FUNDS', false]);
  });

  it('answered with HTTP 503: a DOWN channel says, signed, that it did nothing', async () => {
    await setChannel('DD_GAMMA', { mode: 'DOWN' });
    try {
      const down = answered(await connector().debit('DD_GAMMA', debitData()));
      assert.deepEqual([down.httpStatus, down.data.status, down.data.errorCode, down.data.retryable], [503, 'FAIL', 'CHANNEL_UNAVAILABLE', true]);
    } finally {
      await setChannel('DD_GAMMA', { mode: 'UP' });
    }
  });

  it('unknown: a channel that takes the debit and does not answer in time; QUERY then finds it debited', async () => {
    await setChannel('DD_GAMMA', { mode: 'TIMEOUT' });
    try {
      const data = debitData();
      const started = Date.now();
      notAnswered(await connector({ timeoutMs: 300 }).debit('DD_GAMMA', data), 'unknown', /TimeoutError/);
      assert.ok(Date.now() - started < 3000, 'the time-out cut the call short');
      assert.equal(answered(await connector().query('DD_GAMMA', data.attemptNo)).data.status, 'SUCCESS');
    } finally {
      await setChannel('DD_GAMMA', { mode: 'UP' });
    }
  });

  it('unreachable: nothing listens on the port, or the host name does not resolve', async () => {
    const port = await freePort();
    notAnswered(await connector({ baseUrl: (code) => `http://127.0.0.1:${port}/channels/${code}` }).debit('DD_GAMMA', debitData()), 'unreachable', /ECONNREFUSED/);
    notAnswered(await connector({ baseUrl: (code) => `http://no-such-channel.invalid/channels/${code}` }).query('DD_GAMMA', 'att1'), 'unreachable', /ENOTFOUND|EAI_AGAIN/);
  });

  it('unknown: an unsigned refusal, an answer not signed by the bank, a bank answer about another attempt', async () => {
    notAnswered(await connector({ platformNo: 'someone-else' }).debit('DD_GAMMA', debitData()), 'unknown', /HTTP 400, refused unsigned \(UNKNOWN_PLATFORM\)/);

    const stranger: KeyObject = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    let signWith = stranger;
    let aboutAttempt = '';
    const fake = await impostor(() => {
      const reqData = JSON.stringify({ attemptNo: aboutAttempt, status: 'SUCCESS', timestamp: new Date().toISOString() });
      return { reqData, signature: signText(reqData, signWith) };
    });
    try {
      const viaImpostor = connector({ baseUrl: (code) => `${fake.url}/channels/${code}` });
      const data = debitData();
      aboutAttempt = data.attemptNo;
      notAnswered(await viaImpostor.debit('DD_GAMMA', data), 'unknown', /not signed by the bank/);
      signWith = bankKeys.privateKey;
      aboutAttempt = 'another-attempt';
      notAnswered(await viaImpostor.debit('DD_GAMMA', data), 'unknown', /about another attempt/);
      aboutAttempt = data.attemptNo;
      assert.equal(answered(await viaImpostor.debit('DD_GAMMA', data)).data.status, 'SUCCESS', 'the same answer, truly signed, is believed');
    } finally {
      await fake.close();
    }
  });

  it('sends nothing while the bank key cannot be loaded: no answer could be believed', async () => {
    const missing = new BankPublicKey(path.join(dir, 'no-such-key.pem'), quietLogger);
    const data = debitData();
    await assert.rejects(connector({ bankKey: missing }).debit('DD_GAMMA', data), /public key is not available/);
    assert.equal(answered(await connector().query('DD_GAMMA', data.attemptNo)).data.status, 'NOT_FOUND');
  });
});

/**
 * The simulated card payment channels (src/protocol/payment-channel.ts) over
 * real HTTP: signed requests and answers, idempotency per (channel, attemptNo),
 * the channels' SMS codes, sandbox cards and every sandbox mode; racing calls
 * for one attempt on both stores.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomInt } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { signText, verifyText } from '../../src/protocol/depository.ts';
import type { ChannelCard, ChannelPaymentResult, SendSmsResultData } from '../../src/protocol/payment-channel.ts';
import { migrateToLatest, openStore } from '../../src/platform/db/store.ts';
import { migrations } from '../../src/migrations.ts';
import { createServerDatabase, postgresUnavailable } from '../support/stores.ts';
import { type BankUnderTest, PLATFORM_NO, sandbox, startInProcess, uniqueNo } from './support.ts';

const ADMIN_TOKEN = 'channels-test-admin';
const SMS_TTL_MS = 1500;
const GOOD_CARD = '6222020000001234';

interface Answer<T> {
  status: number;
  /** The problem's code when the answer is a plain (unsigned) refusal. */
  code?: string;
  data?: T;
  signatureValid: boolean;
}

interface SentSms {
  channelCode: string;
  attemptNo: string;
  mobile: string;
  code: string;
  sentAt: string;
}

function card(number = GOOD_CARD): ChannelCard {
  return { number, holderName: 'Zhang San', mobile: `139${String(randomInt(0, 1e8)).padStart(8, '0')}`, bankCode: 'ICBC' };
}

function order(cardData = card(), extra: Record<string, unknown> = {}) {
  return { attemptNo: uniqueNo('att'), amount: '88.00', currency: 'CNY', card: cardData, ...extra };
}

function channelClient(bank: () => BankUnderTest) {
  async function call<T>(
    channel: string,
    operation: string,
    data: object,
    options: { signWith?: KeyObject; platformNo?: string; signal?: AbortSignal } = {},
  ): Promise<Answer<T>> {
    const reqData = JSON.stringify({ ...data, timestamp: new Date().toISOString() });
    const response = await fetch(`${bank().url}/channels/${channel}/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ platformNo: options.platformNo ?? PLATFORM_NO, reqData, signature: signText(reqData, options.signWith ?? bank().keys.privateKey) }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const body = (await response.json()) as { reqData?: string; signature?: string; code?: string };
    if (body.reqData === undefined) return { status: response.status, code: body.code!, signatureValid: false };
    return { status: response.status, data: JSON.parse(body.reqData) as T, signatureValid: verifyText(body.reqData, body.signature, bank().bankPublicKey) };
  }
  return {
    call,
    sendSms: (channel: string, data: object) => call<SendSmsResultData>(channel, 'SEND_SMS', data),
    confirm: (channel: string, attemptNo: string, smsCode: string) => call<ChannelPaymentResult>(channel, 'CONFIRM', { attemptNo, smsCode }),
    debit: (channel: string, data: object) => call<ChannelPaymentResult>(channel, 'DEBIT', data),
    query: (channel: string, attemptNo: string) => call<ChannelPaymentResult>(channel, 'QUERY', { attemptNo }),
    async smsTo(mobile: string): Promise<SentSms[]> {
      const answer = await sandbox<SentSms[]>(bank(), 'GET', `/sandbox/channel-sms?mobile=${mobile}`);
      assert.equal(answer.status, 200);
      return answer.body;
    },
  };
}

const setChannel = (bank: BankUnderTest, code: string, patch: object) => sandbox<{ mode: string }>(bank, 'POST', `/sandbox/channels/${code}`, patch);

describe('bank simulator: card payment channels', () => {
  let bank: BankUnderTest;
  const { call, sendSms, confirm, debit, query, smsTo } = channelClient(() => bank);

  before(async () => {
    bank = await startInProcess({ ADMIN_TOKEN, BANK_CHANNEL_SMS_TTL_MS: String(SMS_TTL_MS), BANK_CHANNEL_HANG_MS: '20000' });
  });
  after(() => bank.close());
  afterEach(async () => {
    assert.equal((await sandbox(bank, 'POST', '/sandbox/channels/reset')).status, 200);
  });

  /** SEND_SMS at a quick-pay channel; the code the channel texted. */
  async function smsSent(channel: string, o: ReturnType<typeof order>): Promise<string> {
    const sent = await sendSms(channel, o);
    assert.deepEqual([sent.status, sent.signatureValid, sent.data?.status], [200, true, 'SMS_SENT']);
    const [latest] = await smsTo(o.card.mobile);
    assert.deepEqual([latest?.channelCode, latest?.attemptNo], [channel, o.attemptNo]);
    assert.match(latest!.code, /^\d{6}$/);
    return latest!.code;
  }

  it('quick pay: the channel texts a 6-digit code, CONFIRM with it debits once; asked again it answers the same debit', async () => {
    const o = order();
    const code = await smsSent('QP_ALPHA', o);
    const paid = await confirm('QP_ALPHA', o.attemptNo, code);
    assert.deepEqual([paid.status, paid.signatureValid, paid.data?.status, paid.data?.amount, paid.data?.currency], [200, true, 'SUCCESS', '88.00', 'CNY']);
    assert.match(paid.data!.channelRef!, /^ch_/);

    const again = await confirm('QP_ALPHA', o.attemptNo, code);
    assert.deepEqual([again.data?.status, again.data?.channelRef], ['SUCCESS', paid.data?.channelRef], 'the same debit, not a second one');
    assert.deepEqual([(await query('QP_ALPHA', o.attemptNo)).data?.status, (await query('QP_BETA', o.attemptNo)).data?.status], ['SUCCESS', 'NOT_FOUND'], 'attempts are per channel');
    const resend = await sendSms('QP_ALPHA', o);
    assert.deepEqual([resend.data?.status, resend.data?.errorCode, resend.data?.retryable], ['FAILED', 'ATTEMPT_FINISHED', false]);
    assert.equal((await smsTo(o.card.mobile)).length, 1, 'no code texted for a finished attempt');
  });

  it('refuses a forged signature or a stranger platform before anything is stored, and every answer is the bank’s', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const o = order();
    const forged = await call('DD_GAMMA', 'DEBIT', o, { signWith: stranger });
    assert.deepEqual([forged.status, forged.code], [400, 'INVALID_SIGNATURE']);
    const otherPlatform = await call('DD_GAMMA', 'DEBIT', o, { platformNo: 'someone-else' });
    assert.deepEqual([otherPlatform.status, otherPlatform.code], [400, 'UNKNOWN_PLATFORM']);
    const forgedUnknown = await call('NOPE', 'DEBIT', o, { signWith: stranger });
    assert.equal(forgedUnknown.code, 'INVALID_SIGNATURE', 'the signature is checked first, even for an unknown channel');
    const answer = await query('DD_GAMMA', o.attemptNo);
    assert.deepEqual([answer.signatureValid, answer.data?.status], [true, 'NOT_FOUND']);
  });

  it('refuses an unknown channel, an operation its kind does not offer, and bad data', async () => {
    assert.deepEqual([(await debit('NOPE', order())).status, (await debit('NOPE', order())).code], [404, 'UNKNOWN_CHANNEL']);
    assert.deepEqual((await debit('QP_ALPHA', order())).code, 'UNSUPPORTED_OPERATION', 'quick pay does not debit without a code');
    assert.deepEqual((await sendSms('DD_GAMMA', order())).code, 'UNSUPPORTED_OPERATION');
    assert.deepEqual((await confirm('DD_GAMMA', 'att1', '123456')).code, 'UNSUPPORTED_OPERATION');
    assert.deepEqual((await call('QP_ALPHA', 'REFUND', order())).code, 'UNSUPPORTED_OPERATION');
    const bad = [
      { amount: '12.345' },
      { amount: '-1.00' },
      { amount: 5 },
      { currency: 'XXX' },
      { card: { ...card(), number: '1234' } },
      { card: { ...card(), mobile: 'call me' } },
      { attemptNo: 'has spaces' },
    ];
    for (const extra of bad) {
      const answer = await debit('DD_GAMMA', order(card(), extra));
      assert.deepEqual([answer.status, answer.code], [400, 'VALIDATION_FAILED'], JSON.stringify(extra));
    }
    assert.equal((await confirm('QP_ALPHA', 'att1', 'abc')).code, 'VALIDATION_FAILED');
  });

  it('direct debit: DEBIT debits at once; the same attemptNo again answers the same debit, other content under it is 409', async () => {
    const o = order();
    const first = await debit('DD_GAMMA', o);
    assert.deepEqual([first.status, first.signatureValid, first.data?.status, first.data?.amount], [200, true, 'SUCCESS', '88.00']);
    const again = await debit('DD_GAMMA', o);
    assert.deepEqual([again.data?.status, again.data?.channelRef], ['SUCCESS', first.data?.channelRef]);
    for (const changed of [{ amount: '88.01' }, { currency: 'USD', amount: '88.00' }, { card: { ...o.card, number: '6222020000005678' } }]) {
      const conflict = await debit('DD_GAMMA', { ...o, ...changed });
      assert.deepEqual([conflict.status, conflict.code], [409, 'ATTEMPT_CONFLICT'], JSON.stringify(changed));
    }
    assert.equal((await query('DD_GAMMA', o.attemptNo)).data?.channelRef, first.data?.channelRef);
  });

  it('a wrong code fails that CONFIRM but keeps the attempt open; the right one then debits', async () => {
    const o = order();
    const code = await smsSent('QP_BETA', o);
    const wrong = await confirm('QP_BETA', o.attemptNo, code === '000000' ? '111111' : '000000');
    assert.deepEqual([wrong.status, wrong.signatureValid, wrong.data?.status, wrong.data?.errorCode, wrong.data?.retryable], [200, true, 'FAIL', 'SMS_CODE_INVALID', false]);
    assert.match(wrong.data!.errorMessage!, /2 tries left/);
    assert.equal((await query('QP_BETA', o.attemptNo)).data?.status, 'PROCESSING');
    assert.equal((await confirm('QP_BETA', o.attemptNo, code)).data?.status, 'SUCCESS');
  });

  it('three wrong codes fail the attempt for good: the right code afterwards debits nothing', async () => {
    const o = order();
    const code = await smsSent('QP_ALPHA', o);
    const wrongCode = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 3; i++) await confirm('QP_ALPHA', o.attemptNo, wrongCode);
    const late = await confirm('QP_ALPHA', o.attemptNo, code);
    assert.deepEqual([late.data?.status, late.data?.errorCode, late.data?.channelRef], ['FAIL', 'SMS_CODE_INVALID', undefined]);
    assert.equal((await query('QP_ALPHA', o.attemptNo)).data?.status, 'FAIL');
  });

  it('a code expires: CONFIRM after its time fails SMS_CODE_EXPIRED, and QUERY of an unconfirmed expired attempt says FAIL', async () => {
    const o = order();
    const code = await smsSent('QP_ALPHA', o);
    const unconfirmed = order();
    await smsSent('QP_BETA', unconfirmed);
    await new Promise((resolve) => setTimeout(resolve, SMS_TTL_MS + 100));
    const late = await confirm('QP_ALPHA', o.attemptNo, code);
    assert.deepEqual([late.data?.status, late.data?.errorCode, late.data?.retryable], ['FAIL', 'SMS_CODE_EXPIRED', false]);
    const queried = await query('QP_BETA', unconfirmed.attemptNo);
    assert.deepEqual([queried.data?.status, queried.data?.errorCode], ['FAIL', 'SMS_CODE_EXPIRED']);
  });

  it('SEND_SMS again texts a new code; only the newest one counts', async () => {
    const o = order();
    const first = await smsSent('QP_ALPHA', o);
    let second = await smsSent('QP_ALPHA', o);
    while (second === first) second = await smsSent('QP_ALPHA', o);
    assert.equal((await smsTo(o.card.mobile))[0]?.code, second, 'newest first');
    assert.equal((await confirm('QP_ALPHA', o.attemptNo, first)).data?.errorCode, 'SMS_CODE_INVALID');
    assert.equal((await confirm('QP_ALPHA', o.attemptNo, second)).data?.status, 'SUCCESS');
    const changed = await sendSms('QP_ALPHA', { ...o, amount: '1.00' });
    assert.deepEqual([changed.status, changed.code], [409, 'ATTEMPT_CONFLICT']);
  });

  it('sandbox cards: 0051 fails INSUFFICIENT_FUNDS, 0069 fails CARD_DECLINED, neither retryable, at either kind of channel', async () => {
    for (const [number, errorCode] of [['6222020000000051', 'INSUFFICIENT_FUNDS'], ['6222020000000069', 'CARD_DECLINED']] as const) {
      const direct = await debit('DD_GAMMA', order(card(number)));
      assert.deepEqual([direct.data?.status, direct.data?.errorCode, direct.data?.retryable, direct.data?.channelRef], ['FAIL', errorCode, false, undefined]);
      const o = order(card(number));
      const quick = await confirm('QP_ALPHA', o.attemptNo, await smsSent('QP_ALPHA', o));
      assert.deepEqual([quick.data?.status, quick.data?.errorCode, quick.data?.retryable], ['FAIL', errorCode, false]);
    }
  });

  it('DOWN: HTTP 503 with a signed, retryable CHANNEL_UNAVAILABLE; nothing stored; the other channels stay up', async () => {
    assert.equal((await setChannel(bank, 'QP_ALPHA', { mode: 'DOWN' })).body.mode, 'DOWN');
    await setChannel(bank, 'DD_GAMMA', { mode: 'DOWN' });
    const o = order();
    const sms = await sendSms('QP_ALPHA', o);
    assert.deepEqual([sms.status, sms.signatureValid, sms.data?.status, sms.data?.errorCode, sms.data?.retryable], [503, true, 'FAILED', 'CHANNEL_UNAVAILABLE', true]);
    const direct = await debit('DD_GAMMA', o);
    assert.deepEqual([direct.status, direct.signatureValid, direct.data?.status, direct.data?.errorCode, direct.data?.retryable], [503, true, 'FAIL', 'CHANNEL_UNAVAILABLE', true]);
    const queried = await query('DD_GAMMA', o.attemptNo);
    assert.deepEqual([queried.status, queried.data?.status], [503, 'PROCESSING'], 'a down channel never claims an attempt failed');
    assert.equal((await smsTo(o.card.mobile)).length, 0);
    assert.equal((await sendSms('QP_BETA', o)).data?.status, 'SMS_SENT');

    await sandbox(bank, 'POST', '/sandbox/channels/reset');
    assert.equal((await query('DD_GAMMA', o.attemptNo)).data?.status, 'NOT_FOUND', 'the refused debit was never stored');
  });

  it('SLOW: answers only after slowMs', async () => {
    await setChannel(bank, 'DD_GAMMA', { mode: 'SLOW', slowMs: 400 });
    const started = Date.now();
    const answer = await debit('DD_GAMMA', order());
    assert.equal(answer.data?.status, 'SUCCESS');
    assert.ok(Date.now() - started >= 380, `answered after ${Date.now() - started} ms`);
  });

  it('DECLINE: every CONFIRM and DEBIT fails CARD_DECLINED (not retryable); SMS still goes out', async () => {
    await setChannel(bank, 'QP_BETA', { mode: 'DECLINE' });
    await setChannel(bank, 'DD_GAMMA', { mode: 'DECLINE' });
    const o = order();
    const quick = await confirm('QP_BETA', o.attemptNo, await smsSent('QP_BETA', o));
    assert.deepEqual([quick.data?.status, quick.data?.errorCode, quick.data?.retryable], ['FAIL', 'CARD_DECLINED', false]);
    const direct = await debit('DD_GAMMA', order());
    assert.deepEqual([direct.data?.status, direct.data?.errorCode, direct.data?.retryable], ['FAIL', 'CARD_DECLINED', false]);
  });

  it('TIMEOUT: DEBIT and CONFIRM get no answer in time, yet the debit happened and QUERY says SUCCESS', async () => {
    await setChannel(bank, 'DD_GAMMA', { mode: 'TIMEOUT' });
    await setChannel(bank, 'QP_ALPHA', { mode: 'TIMEOUT' });
    const direct = order();
    await assert.rejects(call('DD_GAMMA', 'DEBIT', direct, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
    const queried = await query('DD_GAMMA', direct.attemptNo);
    assert.deepEqual([queried.status, queried.signatureValid, queried.data?.status], [200, true, 'SUCCESS']);

    const quick = order();
    const code = await smsSent('QP_ALPHA', quick);
    await assert.rejects(call('QP_ALPHA', 'CONFIRM', { attemptNo: quick.attemptNo, smsCode: code }, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
    assert.equal((await query('QP_ALPHA', quick.attemptNo)).data?.status, 'SUCCESS');
  });

  it('smsFailing: SEND_SMS fails SMS_SEND_FAILED (retryable) and no attempt exists', async () => {
    const state = await sandbox<{ smsFailing: boolean }>(bank, 'POST', '/sandbox/channels/QP_ALPHA', { smsFailing: true });
    assert.equal(state.body.smsFailing, true);
    const o = order();
    const sms = await sendSms('QP_ALPHA', o);
    assert.deepEqual([sms.status, sms.signatureValid, sms.data?.status, sms.data?.errorCode, sms.data?.retryable], [200, true, 'FAILED', 'SMS_SEND_FAILED', true]);
    assert.equal((await smsTo(o.card.mobile)).length, 0);
    assert.equal((await query('QP_ALPHA', o.attemptNo)).data?.status, 'NOT_FOUND');
  });

  it('sandbox controls: listed, validated, guarded by ADMIN_TOKEN, and reset', async () => {
    const listed = await sandbox<{ code: string; kind: string; mode: string; slowMs: number; smsFailing: boolean }[]>(bank, 'GET', '/sandbox/channels');
    assert.deepEqual(
      listed.body.map((c) => [c.code, c.kind, c.mode, c.slowMs, c.smsFailing]),
      [
        ['QP_ALPHA', 'QUICK_PAY', 'UP', 3000, false],
        ['QP_BETA', 'QUICK_PAY', 'UP', 3000, false],
        ['DD_GAMMA', 'DIRECT_DEBIT', 'UP', 3000, false],
      ],
    );
    for (const bad of [{ mode: 'EXPLODE' }, { slowMs: -1 }, { slowMs: 1.5 }, { smsFailing: 'yes' }, { colour: 'red' }]) {
      assert.equal((await setChannel(bank, 'QP_BETA', bad)).status, 400, JSON.stringify(bad));
    }
    assert.equal((await setChannel(bank, 'NOPE', { mode: 'DOWN' })).status, 404);
    assert.equal((await sandbox(bank, 'GET', '/sandbox/channels', undefined, 'wrong-token')).status, 401);
    assert.equal((await sandbox(bank, 'POST', '/sandbox/channels/QP_ALPHA', { mode: 'DOWN' }, 'wrong-token')).status, 401);
    assert.equal((await sandbox(bank, 'GET', '/sandbox/channel-sms', undefined, 'wrong-token')).status, 401);

    await setChannel(bank, 'QP_BETA', { mode: 'SLOW', slowMs: 10, smsFailing: true });
    const reset = await sandbox<{ mode: string; smsFailing: boolean }[]>(bank, 'POST', '/sandbox/channels/reset');
    assert.ok(reset.body.every((c) => c.mode === 'UP' && !c.smsFailing));
  });
});

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI) throw new Error(`${unavailable}; CI must run the PostgreSQL suites`);

for (const store of ['embedded', 'postgres'] as const) {
  const skip = store === 'postgres' && unavailable ? `SKIPPED: ${unavailable}` : false;
  describe(`card payment channels on the ${store} store: racing calls for one attempt`, { skip }, () => {
    let bank: BankUnderTest;
    let database: Awaited<ReturnType<typeof createServerDatabase>> | undefined;
    const { confirm, debit, sendSms, smsTo } = channelClient(() => bank);

    before(async () => {
      if (store === 'postgres') {
        database = await createServerDatabase();
        const coffer = await openStore({ databaseUrl: database.url });
        await migrateToLatest(coffer, migrations);
        await coffer.close();
      }
      bank = await startInProcess(database ? { BANK_DATABASE_URL: database.url } : {});
    });
    after(async () => {
      await bank?.close();
      await database?.drop();
    });

    it('the same DEBIT sent eight times at once debits once', async () => {
      const o = order();
      const answers = await Promise.all(Array.from({ length: 8 }, () => debit('DD_GAMMA', o)));
      assert.ok(answers.every((a) => a.data?.status === 'SUCCESS'));
      assert.equal(new Set(answers.map((a) => a.data?.channelRef)).size, 1);
    });

    it('the same CONFIRM sent eight times at once debits once, and racing wrong codes count every try', async () => {
      const o = order();
      await sendSms('QP_ALPHA', o);
      const code = (await smsTo(o.card.mobile))[0]!.code;
      const answers = await Promise.all(Array.from({ length: 8 }, () => confirm('QP_ALPHA', o.attemptNo, code)));
      assert.equal(new Set(answers.map((a) => `${a.data?.status} ${a.data?.channelRef}`)).size, 1, 'one debit, the same answer to all');

      const guessed = order();
      await sendSms('QP_ALPHA', guessed);
      const right = (await smsTo(guessed.card.mobile))[0]!.code;
      const wrong = right === '000000' ? '111111' : '000000';
      await Promise.all(Array.from({ length: 6 }, () => confirm('QP_ALPHA', guessed.attemptNo, wrong)));
      assert.equal((await confirm('QP_ALPHA', guessed.attemptNo, right)).data?.status, 'FAIL', 'no more than three guesses, however fast');
    });
  });
}

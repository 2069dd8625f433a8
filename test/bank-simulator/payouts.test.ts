import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signText, verifyText } from '../../src/protocol/depository.ts';
import type { PayoutOrderData, PayoutResultData } from '../../src/protocol/payout-channel.ts';
import { type BankUnderTest, PLATFORM_NO, type ReceivedNotification, sandbox, startInProcess, uniqueNo, waitFor } from './support.ts';

type Answer = { status: number; code?: string; result?: PayoutResultData; signatureValid: boolean };

describe('bank simulator: the payout channel', () => {
  let bank: BankUnderTest;
  before(async () => {
    bank = await startInProcess({ BANK_PAYOUT_DELAY_MS: '50', BANK_PAYOUT_REVERSAL_MS: '300', BANK_PAYOUT_HANG_MS: '5000', BANK_PAYOUT_POLL_MS: '20' });
  });
  after(() => bank.close());

  function order(accountNo: string, extra: Partial<PayoutOrderData> = {}): PayoutOrderData {
    return {
      payoutId: uniqueNo('po'),
      amount: '125.50',
      currency: 'CNY',
      beneficiary: { name: 'Li Lei', accountNo, bankCode: 'ICBC' },
      notifyUrl: bank.platform.notifyUrl,
      timestamp: new Date().toISOString(),
      ...extra,
    };
  }

  async function call(path: string, body: object, signWith: KeyObject = bank.keys.privateKey, signal?: AbortSignal): Promise<Answer> {
    const reqData = JSON.stringify(body);
    const response = await fetch(`${bank.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...(path === '/service' ? { serviceName: 'QUERY_PAYOUT' } : {}), platformNo: PLATFORM_NO, reqData, signature: signText(reqData, signWith) }),
      ...(signal ? { signal } : {}),
    });
    const json = (await response.json()) as { reqData?: string; signature?: string; code?: string };
    if (!response.ok) return { status: response.status, code: json.code!, signatureValid: false };
    return { status: response.status, result: JSON.parse(json.reqData!) as PayoutResultData, signatureValid: verifyText(json.reqData!, json.signature!, bank.bankPublicKey) };
  }

  const send = (o: PayoutOrderData) => call('/payouts', o);
  const query = (payoutId: string) => call('/service', { payoutId, timestamp: new Date().toISOString() });

  function notificationsFor(payoutId: string): (ReceivedNotification & { payout: PayoutResultData })[] {
    return bank.platform.received
      .map((n) => ({ ...n, payout: JSON.parse(n.reqData) as PayoutResultData }))
      .filter((n) => n.payout.payoutId === payoutId);
  }

  function notified(payoutId: string, status: string) {
    return waitFor(`a ${status} notification for ${payoutId}`, () => notificationsFor(payoutId).find((n) => n.payout.status === status));
  }

  it('takes an order once: answers PROCESSING, notifies SUCCEEDED signed, and a resend is answered, never paid again', async () => {
    const o = order('6222000011112222');
    const first = await send(o);
    assert.deepEqual([first.status, first.signatureValid, first.result?.status, first.result?.amount], [200, true, 'PROCESSING', '125.50']);
    const n = await notified(o.payoutId, 'SUCCEEDED');
    assert.deepEqual([n.serviceName, n.platformNo, n.signatureValid, n.payout.channelRef], ['PAYOUT', PLATFORM_NO, true, first.result?.channelRef]);

    const again = await send({ ...o, timestamp: new Date().toISOString() });
    assert.deepEqual([again.status, again.result?.status, again.result?.channelRef], [200, 'SUCCEEDED', first.result?.channelRef]);
    const listed = await sandbox<{ status: string }[]>(bank, 'GET', `/sandbox/payouts?payoutId=${o.payoutId}`);
    assert.equal(listed.body.length, 1, 'one payout, however often it is ordered');
    const other = await send({ ...o, amount: '125.51' });
    assert.deepEqual([other.status, other.code], [409, 'DUPLICATE_PAYOUT']);
    assert.equal((await query(o.payoutId)).result?.status, 'SUCCEEDED');
  });

  it('sandbox beneficiaries: 0002 fails ACCOUNT_CLOSED; 0003 succeeds and is reversed later', async () => {
    const closed = order('6222000000000002');
    await send(closed);
    const failed = await notified(closed.payoutId, 'FAILED');
    assert.deepEqual([failed.signatureValid, failed.payout.errorCode], [true, 'ACCOUNT_CLOSED']);

    const returned = order('6222000000000003');
    await send(returned);
    await notified(returned.payoutId, 'SUCCEEDED');
    const reversed = await notified(returned.payoutId, 'REVERSED');
    assert.deepEqual([reversed.signatureValid, reversed.payout.errorCode, reversed.payout.amount], [true, 'RETURNED_BY_BENEFICIARY_BANK', '125.50']);
    assert.equal((await query(returned.payoutId)).result?.status, 'REVERSED');
  });

  it('0004 times out: the order gets no answer and no notification until queried, then succeeds', async () => {
    const o = order('6222000000000004');
    await assert.rejects(call('/payouts', o, bank.keys.privateKey, AbortSignal.timeout(300)), /abort|timeout/i);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(notificationsFor(o.payoutId).length, 0, 'nothing is said before a query');
    const answer = await query(o.payoutId);
    assert.deepEqual([answer.signatureValid, answer.result?.status], [true, 'SUCCEEDED']);
    await notified(o.payoutId, 'SUCCEEDED');
  });

  it('sandbox controls script the next outcomes and return a paid payout on demand', async () => {
    const refused = await sandbox(bank, 'POST', '/sandbox/payout-faults', { nextOutcomes: [{ outcome: 'explode' }] });
    assert.equal(refused.status, 400);
    const set = await sandbox<{ nextOutcomes: unknown[] }>(bank, 'POST', '/sandbox/payout-faults', {
      nextOutcomes: [{ outcome: 'fail', errorCode: 'BENEFICIARY_BANK_DOWN' }, { outcome: 'succeed' }],
    });
    assert.equal(set.body.nextOutcomes.length, 2);
    const a = order('6222000011113333');
    const b = order('6222000000000002'); // would fail by its number; the script says succeed
    await send(a);
    await send(b);
    assert.equal((await notified(a.payoutId, 'FAILED')).payout.errorCode, 'BENEFICIARY_BANK_DOWN');
    await notified(b.payoutId, 'SUCCEEDED');

    assert.equal((await sandbox(bank, 'POST', `/sandbox/payouts/${a.payoutId}/reverse`)).status, 409, 'a failed payout cannot be returned');
    const reversed = await sandbox<{ status: string }>(bank, 'POST', `/sandbox/payouts/${b.payoutId}/reverse`);
    assert.equal(reversed.body.status, 'REVERSED');
    await notified(b.payoutId, 'REVERSED');
    assert.equal((await sandbox(bank, 'POST', `/sandbox/payouts/${b.payoutId}/reverse`)).status, 409, 'returned once only');
  });

  it('refuses forged signatures and bad orders, and answers NOT_FOUND for an unknown payout', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = await call('/payouts', order('6222000011114444'), stranger);
    assert.deepEqual([forged.status, forged.code], [400, 'INVALID_SIGNATURE']);
    for (const bad of [{ amount: '12.345' }, { amount: '-1.00' }, { currency: 'XXX' }, { beneficiary: { name: '', accountNo: '1', bankCode: '' } }]) {
      const answer = await send(order('6222000011115555', bad as Partial<PayoutOrderData>));
      assert.deepEqual([answer.status, answer.code], [400, 'VALIDATION_FAILED'], JSON.stringify(bad));
    }
    const unknown = await query(uniqueNo('po'));
    assert.deepEqual([unknown.signatureValid, unknown.result?.status], [true, 'NOT_FOUND']);
    const forgedQuery = await call('/service', { payoutId: 'x', timestamp: new Date().toISOString() }, stranger);
    assert.equal(forgedQuery.code, 'INVALID_SIGNATURE');
  });
});

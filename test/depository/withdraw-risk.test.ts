/**
 * Risk control on withdrawals (SPEC 6) over real HTTP: LOW goes to the bank at
 * once, MEDIUM needs an SMS code first, HIGH an SMS code and a reviewer, REJECT
 * is refused; whatever does not reach the bank releases its hold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  type Api,
  assertProblem,
  bankResult,
  eventually,
  type FakeBankService,
  openUserAccount,
  rechargeThroughBank,
  requestDataOf,
  type TestBooks,
  type TestKeys,
  type TestUser,
  startDepositoryServer,
  stopDepositoryServer,
} from './support.ts';

const CALLBACK = 'https://wallet.test.example/return';
const CARD = '6222021234567890123';

for (const { kind, skip } of await testStoreKinds()) {
  describe(`withdrawals under risk control (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let keys: TestKeys;
    let bankService: FakeBankService;
    let coffer: RunningCoffer;
    let api: Api;

    before(async () => {
      ({ books, keys, bankService, coffer, api } = await startDepositoryServer(kind, { DEPOSITORY_QUERY_AFTER_S: '3600' }));
    });

    after(() => stopDepositoryServer({ books, keys, bankService, coffer }));

    async function richUser(amount: string, card = CARD): Promise<TestUser> {
      const user = await openUserAccount(api, CALLBACK, card);
      await rechargeThroughBank(api, user, amount, CALLBACK);
      return user;
    }

    const withdraw = (user: TestUser, amount: string) => api.my(user, 'POST', '/my/withdraw-records', { amount, callbackUrl: CALLBACK });
    const verify = (user: TestUser, id: string, code: string) => api.my(user, 'POST', `/my/withdraw-records/${id}/verification`, { code });

    async function smsCode(user: TestUser): Promise<string> {
      const sink = await api.admin<{ data: { text: string }[] }>('GET', `/sandbox/sms?mobile=${encodeURIComponent(user.mobile)}`);
      assert.equal(sink.status, 200, sink.text);
      const code = /\b(\d{6})\b/.exec(sink.body.data[0]?.text ?? '')?.[1];
      assert.ok(code, `a code in the sink: ${sink.text}`);
      return code;
    }

    test('LOW: a small withdrawal gets its signed request at once', async () => {
      const user = await richUser('100.00');
      const started = await withdraw(user, '10.00');
      assert.equal(started.status, 201, started.text);
      assert.equal(started.body.serviceName, 'WITHDRAW');
      const record = await api.recordOf(user, 'withdraw', requestDataOf(started.body).requestNo);
      assert.deepEqual([record.status, record.riskLevel], ['PENDING', 'LOW']);
    });

    test('MEDIUM: 5,000.00 or more needs the SMS code first; a wrong code counts, the right one signs the request', async () => {
      const user = await richUser('6000.00');
      const started = await withdraw(user, '5000.00');
      assert.equal(started.status, 202, started.text);
      assert.deepEqual(started.body.verification, ['TRANSACTION_PASSWORD', 'SMS_CODE']);
      assert.deepEqual([started.body.record.status, started.body.record.riskLevel], ['AWAITING_VERIFICATION', 'MEDIUM']);
      assert.equal((await api.wallet(user))!.available, '998.00', 'amount + fee are held while the code is awaited');

      const wrong = assertProblem(await verify(user, started.body.record.id, '000000'), 422, 'SMS_CODE_INVALID');
      assert.ok(wrong.detail, 'the problem says what went wrong');
      const signed = await verify(user, started.body.record.id, await smsCode(user));
      assert.equal(signed.status, 201, signed.text);
      assert.equal(requestDataOf(signed.body).requestNo, started.body.record.requestNo);
      assert.equal((await api.recordOf(user, 'withdraw', started.body.record.requestNo)).status, 'PENDING');
      assertProblem(await verify(user, started.body.record.id, '123456'), 409, 'WITHDRAW_NOT_AWAITING');

      assert.equal((await api.notifyResult(signed.body, { status: 'SUCCESS' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '998.00'));
      await api.invariantsHold();
    });

    test('HIGH: 50,000.00 or more needs the SMS code and a reviewer; approved, it goes on to the bank', async () => {
      const user = await richUser('60000.00');
      const started = await withdraw(user, '50000.00');
      assert.equal(started.status, 202, started.text);
      assert.deepEqual(started.body.verification, ['TRANSACTION_PASSWORD', 'SMS_CODE', 'MANUAL_REVIEW']);
      const id = started.body.record.id;
      assertProblem(await api.my(user, 'POST', `/my/withdraw-records/${id}/continue`), 409, 'WITHDRAW_NOT_AWAITING');

      const waiting = await verify(user, id, await smsCode(user));
      assert.equal(waiting.status, 202, waiting.text);
      assert.equal(waiting.body.record.status, 'AWAITING_REVIEW');
      const reviews = await api.admin<{ data: { decisionId: string; reference: string }[] }>('GET', '/admin/risk/reviews');
      const review = reviews.body.data.find((d) => d.reference === started.body.record.requestNo);
      assert.ok(review, 'the withdrawal waits in the review queue');
      assert.equal((await api.admin('POST', `/admin/risk/reviews/${review.decisionId}/approve`, { note: 'known customer' })).status, 200);
      await eventually(async () => assert.equal((await api.recordOf(user, 'withdraw', started.body.record.requestNo)).status, 'READY'));

      const signed = await api.my(user, 'POST', `/my/withdraw-records/${id}/continue`);
      assert.equal(signed.status, 201, signed.text);
      assert.equal((await api.notifyResult(signed.body, { status: 'FAIL', errorCode: 'CARD_DECLINED' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.available, '60000.00', 'a failure at the bank releases the hold'));
      await api.invariantsHold();
    });

    test('HIGH rejected by the reviewer: the withdrawal fails as RISK_REJECTED and nothing stays held', async () => {
      const user = await richUser('60000.00');
      const started = await withdraw(user, '55000.00');
      const waiting = await verify(user, started.body.record.id, await smsCode(user));
      assert.equal(waiting.body.record.status, 'AWAITING_REVIEW');
      const decision = (await api.admin<{ data: { decisionId: string; reference: string }[] }>('GET', '/admin/risk/reviews')).body.data.find(
        (d) => d.reference === started.body.record.requestNo,
      )!;
      assert.equal((await api.admin('POST', `/admin/risk/reviews/${decision.decisionId}/reject`, { note: 'unusual' })).status, 200);
      await eventually(async () => {
        const record = await api.recordOf(user, 'withdraw', started.body.record.requestNo);
        assert.deepEqual([record.status, record.errorCode], ['FAILED', 'RISK_REJECTED']);
      });
      await eventually(async () => assert.equal((await api.wallet(user))!.available, '60000.00'));
      await api.invariantsHold();
    });

    test('REJECT: a blacklisted card is refused at once with RISK_REJECTED; nothing is held or created', async () => {
      const card = '6222029999888877776';
      const user = await richUser('100.00', card);
      const masked = (await api.my<{ cardNumberMasked: string }[]>(user, 'GET', '/my/cards')).body[0]!.cardNumberMasked;
      const listed = await api.admin('POST', '/admin/risk/blacklist', { kind: 'CARD', value: masked, reason: 'reported stolen' });
      assert.ok(listed.status === 201 || listed.status === 200, listed.text);
      assertProblem(await withdraw(user, '10.00'), 403, 'RISK_REJECTED');
      assert.equal((await api.wallet(user))!.available, '100.00');
      assert.equal((await api.records(user, 'withdraw', '')).data.length, 0);
      const decisions = await api.admin<{ data: { level: string }[] }>('GET', `/admin/risk/decisions?subjectId=${user.userId}`);
      assert.deepEqual(decisions.body.data.map((d) => d.level), ['REJECT'], 'the refusal is recorded');
    });

    test('a failed bank step after the SMS code releases the hold, and the bank’s notification is believed as usual', async () => {
      const user = await richUser('6000.00');
      const started = await withdraw(user, '5000.00');
      const signed = await verify(user, started.body.record.id, await smsCode(user));
      assert.equal((await api.notifyResult(signed.body, { ...bankResult(signed.body, { status: 'FAIL' }), status: 'FAIL' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.available, '6000.00'));
    });
  });
}

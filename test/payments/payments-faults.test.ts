/**
 * The payment core under bad input and faults, over real HTTP against the
 * bank simulator process, on both stores: wrong, superseded and reused SMS
 * codes, too many attempts, two confirms at once, channels down, slow, timing
 * out (queried to SUCCESS), declining, all down; the circuit breaker opening
 * and half-opening; a coupon raced for by several payments; crashes mid-chain
 * recovered by the job. Every money check is to the cent, and a failure moves nothing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import { testStoreKinds } from '../support/stores.ts';
import { assertProblem, cardEnding, PaymentsRig, type Payer } from './support.ts';

/** The channels' codes live this long here (5 min by default), so the expiry test waits a few seconds only. */
const CHANNEL_SMS_TTL_MS = 6000;

for (const { kind, skip } of await testStoreKinds()) {
  describe(`payments faults (${kind})`, { skip }, () => {
    let rig: PaymentsRig;

    before(async () => {
      rig = await PaymentsRig.start(kind, { PAYMENT_COUPON_LOCK_TTL_S: '1' }, { BANK_CHANNEL_SMS_TTL_MS: String(CHANNEL_SMS_TTL_MS) });
    });
    after(async () => {
      await rig?.close();
    });
    beforeEach(async () => {
      await rig.resetChannels();
    });

    const db = () => rig.coffer.store.db;

    async function quickPayReady(payer: Payer, amount = 10_000n, couponId?: string) {
      const payOrderNo = await rig.createPayment(payer, amount);
      const sent = await rig.smsOk(payer, payOrderNo, couponId ? { couponId } : {});
      assert.equal(sent.method, 'QUICK_PAY');
      return { payOrderNo, sent, code: await rig.channelCodeFor(payOrderNo, payer.mobile) };
    }

    async function directDebitReady(payer: Payer, amount = 10_000n) {
      await rig.setChannel('QP_ALPHA', { smsFailing: true });
      await rig.setChannel('QP_BETA', { smsFailing: true });
      const payOrderNo = await rig.createPayment(payer, amount);
      assert.equal((await rig.smsOk(payer, payOrderNo)).method, 'DIRECT_DEBIT');
      return { payOrderNo, code: await rig.cofferCode(payer.mobile) };
    }

    async function assertNothingMoved(payer: Payer, payOrderNo: string) {
      assert.equal(await rig.balance(payer.holdingAccountId), '0.00');
      assert.equal((await rig.transfer(`payment:${payOrderNo}:payable`)).status, 404);
      await rig.assertInvariants();
    }

    test('quick pay: a wrong code may be typed again; the third wrong code closes the attempt and a new SMS is needed', async () => {
      const payer = await rig.payer();
      const { payOrderNo, code } = await quickPayReady(payer);
      const wrong = code === '000000' ? '111111' : '000000';
      assertProblem(await rig.confirm(payer, payOrderNo, wrong), 422, 'SMS_CODE_INVALID');
      assert.equal((await rig.payment(payer, payOrderNo)).step, 'SMS_SENT');
      assertProblem(await rig.confirm(payer, payOrderNo, wrong), 422, 'SMS_CODE_INVALID');
      assertProblem(await rig.confirm(payer, payOrderNo, wrong), 422, 'SMS_CODE_ATTEMPTS_EXCEEDED');
      assert.deepEqual(Object.values((({ status, step }) => ({ status, step }))(await rig.payment(payer, payOrderNo))), ['DOING', 'CREATED']);
      assertProblem(await rig.confirm(payer, payOrderNo, code), 409, 'PAYMENT_SMS_NOT_SENT');
      await assertNothingMoved(payer, payOrderNo);

      await rig.smsOk(payer, payOrderNo);
      const paid = await rig.confirm(payer, payOrderNo, await rig.channelCodeFor(payOrderNo, payer.mobile));
      assert.equal(paid.body.status, 'SUCCESS');
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
    });

    test('quick pay: an expired code is refused by the channel and a new SMS is needed', async () => {
      const payer = await rig.payer();
      const { payOrderNo, code } = await quickPayReady(payer, 1_000n);
      await new Promise((r) => setTimeout(r, CHANNEL_SMS_TTL_MS + 100));
      assertProblem(await rig.confirm(payer, payOrderNo, code), 422, 'SMS_CODE_EXPIRED');
      assert.equal((await rig.payment(payer, payOrderNo)).step, 'CREATED');
      await assertNothingMoved(payer, payOrderNo);
    });

    test("direct debit: wrong codes, too many attempts, a superseded code, then the right one; a reused code answers the final state", async () => {
      const payer = await rig.payer();
      const { payOrderNo, code: first } = await directDebitReady(payer);
      const wrong = first === '000000' ? '111111' : '000000';
      for (let i = 0; i < 4; i++) assertProblem(await rig.confirm(payer, payOrderNo, wrong), 422, 'SMS_CODE_INVALID');
      assertProblem(await rig.confirm(payer, payOrderNo, wrong), 422, 'SMS_CODE_ATTEMPTS_EXCEEDED');
      assertProblem(await rig.confirm(payer, payOrderNo, first), 422, 'SMS_CODE_ATTEMPTS_EXCEEDED');
      assert.equal((await rig.payment(payer, payOrderNo)).step, 'SMS_SENT');
      await assertNothingMoved(payer, payOrderNo);

      await rig.smsOk(payer, payOrderNo);
      const second = await rig.cofferCode(payer.mobile);
      await rig.smsOk(payer, payOrderNo);
      const third = await rig.cofferCode(payer.mobile);
      // The old code belongs to the superseded challenge: against the new one it is simply wrong.
      if (second !== third) assertProblem(await rig.confirm(payer, payOrderNo, second), 422, 'SMS_CODE_INVALID');
      const paid = await rig.confirm(payer, payOrderNo, third);
      assert.deepEqual([paid.body.status, paid.body.channel], ['SUCCESS', 'DD_GAMMA']);
      const reused = await rig.confirm(payer, payOrderNo, third);
      assert.deepEqual([reused.status, reused.body.status], [200, 'SUCCESS']);
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
    });

    test('the same confirm twice at once: one claims the order and calls the channel, the other answers DOING; money moves once', async () => {
      const payer = await rig.payer();
      const { payOrderNo, sent, code } = await quickPayReady(payer);
      await rig.setChannel(sent.channel!, { mode: 'SLOW', slowMs: 1000 });
      const answers = await Promise.all([rig.confirm(payer, payOrderNo, code), rig.confirm(payer, payOrderNo, code)]);
      assert.deepEqual(answers.map((a) => a.status), [200, 200]);
      assert.deepEqual(answers.map((a) => a.body.status).sort(), ['DOING', 'SUCCESS']);
      assert.equal(answers.find((a) => a.body.status === 'DOING')!.body.step, 'CONFIRMING');
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from payment_attempts where pay_order_no = ${payOrderNo} and operation = 'CONFIRM'`.execute(db());
      assert.equal(rows[0]!.n, 1, 'one CONFIRM went to the channel');
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
    });

    test('channel down at confirm: 503, nothing moved, the SMS is sent again (routed elsewhere) and the payment goes through', async () => {
      const payer = await rig.payer();
      const { payOrderNo, sent, code } = await quickPayReady(payer);
      await rig.setChannel(sent.channel!, { mode: 'DOWN' });
      assertProblem(await rig.confirm(payer, payOrderNo, code), 503, 'PAYMENT_CHANNEL_UNAVAILABLE');
      assert.equal((await rig.payment(payer, payOrderNo)).step, 'CREATED');
      await assertNothingMoved(payer, payOrderNo);
      const resent = await rig.smsOk(payer, payOrderNo);
      assert.notEqual(resent.channel, sent.channel, 'the down channel failed its SEND_SMS; the next quick-pay channel sent it');
      const paid = await rig.confirm(payer, payOrderNo, await rig.channelCodeFor(payOrderNo, payer.mobile));
      assert.equal(paid.body.status, 'SUCCESS');
    });

    test('all channels down: a clear FAIL at confirm, nothing moved, PAYMENT_FINAL FAIL', async () => {
      for (const code of ['QP_ALPHA', 'QP_BETA', 'DD_GAMMA']) await rig.setChannel(code, { mode: 'DOWN' });
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 10_000n);
      const sent = await rig.smsOk(payer, payOrderNo);
      assert.deepEqual([sent.method, sent.smsSentBy], ['DIRECT_DEBIT', 'COFFER']);
      const failed = await rig.confirm(payer, payOrderNo, await rig.cofferCode(payer.mobile));
      assert.deepEqual([failed.status, failed.body.status, failed.body.errorCode], [200, 'FAIL', 'CHANNEL_UNAVAILABLE']);
      await assertNothingMoved(payer, payOrderNo);
      const { rows } = await sql<{ status: string }>`select payload->>'status' as status from outbox_messages where topic = 'payment.final' and key = ${payOrderNo}`.execute(db());
      assert.deepEqual(rows.map((r) => r.status), ['FAIL']);
    });

    test('no channel at all can take it (all disabled): FAIL at once when the SMS is asked for', async () => {
      for (const code of ['QP_ALPHA', 'QP_BETA', 'DD_GAMMA']) await rig.editChannel(code, { enabled: false });
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 10_000n);
      const failed = await rig.smsOk(payer, payOrderNo);
      assert.deepEqual([failed.status, failed.errorCode], ['FAIL', 'NO_CHANNEL_AVAILABLE']);
      await assertNothingMoved(payer, payOrderNo);
    });

    test('a slow channel within the time-out pays', async () => {
      const payer = await rig.payer();
      const { payOrderNo, sent, code } = await quickPayReady(payer);
      await rig.setChannel(sent.channel!, { mode: 'SLOW', slowMs: 300 });
      assert.equal((await rig.confirm(payer, payOrderNo, code)).body.status, 'SUCCESS');
    });

    test('a channel that times out: DOING / UNKNOWN_OUTCOME, queried (never sent elsewhere) until SUCCESS, money moves once', async () => {
      const payer = await rig.payer();
      const coupon = await rig.issueCoupon(payer, '5.00', '50.00');
      const { payOrderNo, sent, code } = await quickPayReady(payer, 10_000n, coupon.id);
      await rig.setChannel(sent.channel!, { mode: 'TIMEOUT' });
      const pending = await rig.confirm(payer, payOrderNo, code);
      assert.deepEqual([pending.status, pending.body.status, pending.body.step], [200, 'DOING', 'UNKNOWN_OUTCOME']);
      assertProblem(await rig.sms(payer, payOrderNo), 409, 'PAYMENT_IN_PROGRESS');
      assert.equal(await rig.coffer.payments.cancel(payOrderNo, 'impatient'), 'DOING', 'no cancel while the outcome is unknown');
      const other = await rig.createPayment(payer, 10_000n);
      assertProblem(await rig.sms(payer, other, { couponId: coupon.id }), 409, 'COUPON_NOT_AVAILABLE');
      const paid = await rig.waitForStatus(payer, payOrderNo, 'SUCCESS');
      assert.equal(paid.channel, sent.channel);
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
      assert.equal((await rig.transfer(`payment:${payOrderNo}:payable`)).body.amount, '95.00');
      const mine = (await rig.as<{ id: string; status: string }[]>(payer, 'GET', '/my/coupons')).body;
      assert.equal(mine.find((c) => c.id === coupon.id)!.status, 'USED', 'kept locked while unknown, then consumed');
    });

    test('direct debit timing out is queried, not retried elsewhere', async () => {
      const payer = await rig.payer();
      const { payOrderNo, code } = await directDebitReady(payer);
      await rig.setChannel('DD_GAMMA', { mode: 'TIMEOUT' });
      const pending = await rig.confirm(payer, payOrderNo, code);
      assert.equal(pending.body.step, 'UNKNOWN_OUTCOME');
      await rig.waitForStatus(payer, payOrderNo, 'SUCCESS');
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from payment_attempts where pay_order_no = ${payOrderNo} and operation = 'DEBIT'`.execute(db());
      assert.equal(rows[0]!.n, 1);
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
    });

    test('declined (by the channel, or a stolen card): FAIL, the coupon released, nothing moved, the circuit untouched', async () => {
      const payer = await rig.payer(cardEnding('0069'));
      const coupon = await rig.issueCoupon(payer, '5.00', '50.00');
      const { payOrderNo, sent, code } = await quickPayReady(payer, 10_000n, coupon.id);
      const failed = await rig.confirm(payer, payOrderNo, code);
      assert.deepEqual([failed.body.status, failed.body.errorCode], ['FAIL', 'CARD_DECLINED']);
      await assertNothingMoved(payer, payOrderNo);
      assert.equal((await rig.as<{ id: string; status: string }[]>(payer, 'GET', '/my/coupons')).body[0]!.status, 'AVAILABLE');
      assert.equal((await rig.circuit(sent.channel!)).failures, 0);

      const other = await rig.payer();
      const dd = await directDebitReady(other);
      await rig.setChannel('DD_GAMMA', { mode: 'DECLINE' });
      const declined = await rig.confirm(other, dd.payOrderNo, dd.code);
      assert.deepEqual([declined.body.status, declined.body.errorCode], ['FAIL', 'CARD_DECLINED']);
      await assertNothingMoved(other, dd.payOrderNo);
    });

    test('circuit breaker: opens after 3 channel failures (routing then skips the channel), half-opens after the cool-down, a failed trial re-opens it, a good one closes it', async () => {
      await rig.setChannel('QP_ALPHA', { mode: 'DOWN' });
      await rig.editChannel('QP_BETA', { enabled: false });
      const payer = await rig.payer();
      for (let i = 0; i < 3; i++) {
        const payOrderNo = await rig.createPayment(payer, 1_000n);
        assert.equal((await rig.smsOk(payer, payOrderNo)).method, 'DIRECT_DEBIT');
      }
      assert.equal((await rig.circuit('QP_ALPHA')).state, 'OPEN');
      const skipped = await rig.createPayment(payer, 1_000n);
      await rig.smsOk(payer, skipped);
      assert.deepEqual((await rig.decisions(skipped))[0]!.candidates.find((c) => c.code === 'QP_ALPHA'), { code: 'QP_ALPHA', eligible: false, reason: 'CIRCUIT_OPEN' });

      await new Promise((r) => setTimeout(r, 3100));
      assert.equal((await rig.circuit('QP_ALPHA')).state, 'HALF_OPEN');
      const failedTrial = await rig.createPayment(payer, 1_000n);
      assert.equal((await rig.smsOk(payer, failedTrial)).method, 'DIRECT_DEBIT');
      assert.equal((await rig.circuit('QP_ALPHA')).state, 'OPEN', 'the trial failed: open again');

      await new Promise((r) => setTimeout(r, 3100));
      await rig.setChannel('QP_ALPHA', { mode: 'UP' });
      const trial = await rig.createPayment(payer, 1_000n);
      assert.equal((await rig.smsOk(payer, trial)).channel, 'QP_ALPHA');
      assert.deepEqual(await rig.circuit('QP_ALPHA'), { state: 'CLOSED', failures: 0 });
    });

    test('one coupon, five payments confirming at once: exactly one uses it, the others are told and keep nothing locked', async () => {
      const payer = await rig.payer();
      const coupon = await rig.issueCoupon(payer, '10.00', '50.00');
      const ready = [];
      for (let i = 0; i < 5; i++) ready.push(await quickPayReady(payer, 10_000n, coupon.id));
      const answers = await Promise.all(ready.map((r) => rig.confirm(payer, r.payOrderNo, r.code)));
      const won = answers.filter((a) => a.status === 200);
      assert.equal(won.length, 1, JSON.stringify(answers.map((a) => [a.status, a.body])));
      assert.deepEqual([won[0]!.body.status, won[0]!.body.discount], ['SUCCESS', '10.00']);
      for (const lost of answers.filter((a) => a.status !== 200)) assertProblem(lost, 409, 'COUPON_NOT_AVAILABLE');
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
      const { rows } = await sql<{ status: string; payOrderNo: string }>`select status, pay_order_no as "payOrderNo" from payment_coupons where id = ${coupon.id}`.execute(db());
      assert.deepEqual(rows, [{ status: 'USED', payOrderNo: won[0]!.body.payOrderNo }]);
      for (const r of ready.filter((x) => x.payOrderNo !== won[0]!.body.payOrderNo)) {
        const view = await rig.payment(payer, r.payOrderNo);
        assert.deepEqual([view.step, view.discount, view.couponId], ['CREATED', '0.00', undefined]);
      }
      await rig.assertInvariants();
    });

    test('a coupon lock past its timeout on a payment that holds no channel call is released by the job', async () => {
      const payer = await rig.payer();
      const coupon = await rig.issueCoupon(payer, '10.00', '50.00');
      const payOrderNo = await rig.createPayment(payer, 10_000n);
      await rig.smsOk(payer, payOrderNo, { couponId: coupon.id });
      // As a process that locked it and then died before the channel call (and before recovery stepped back).
      await sql`update payment_coupons set status = 'LOCKED', pay_order_no = ${payOrderNo}, locked_until = now() - interval '1 second' where id = ${coupon.id}`.execute(db());
      const deadline = Date.now() + 5000;
      for (;;) {
        const { rows } = await sql<{ status: string }>`select status from payment_coupons where id = ${coupon.id}`.execute(db());
        if (rows[0]!.status === 'AVAILABLE') break;
        assert.ok(Date.now() < deadline, 'the lock was not released');
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    describe('crash recovery', () => {
      /** Plays the Coffer process that crashed: the order is left CONFIRMING past its lease, the attempt as given. */
      async function crashed(payOrderNo: string, attempt: 'CALLING' | 'SUCCESS' | 'SMS_SENT') {
        // One transaction: the recovery job (every 50 ms) must never see the order without its attempt.
        await db().transaction().execute(async (trx) => {
          if (attempt !== 'SMS_SENT') {
            await sql`update payment_attempts set status = ${attempt}, operation = 'CONFIRM' where pay_order_no = ${payOrderNo} and operation = 'SEND_SMS' and status = 'SMS_SENT'`.execute(trx);
          }
          await sql`update payment_orders set step = 'CONFIRMING', lease_until = now() - interval '1 second' where pay_order_no = ${payOrderNo}`.execute(trx);
        });
      }

      test('the CONFIRM reached the channel and the process died before the answer: queried, SUCCESS, accounted once, the coupon consumed', async () => {
        const payer = await rig.payer();
        const coupon = await rig.issueCoupon(payer, '10.00', '50.00');
        const { payOrderNo, sent, code } = await quickPayReady(payer, 10_000n, coupon.id);
        await sql`update payment_coupons set status = 'LOCKED', pay_order_no = ${payOrderNo}, locked_until = now() + interval '1 hour' where id = ${coupon.id}`.execute(db());
        const { rows } = await sql<{ attemptNo: string }>`select sms_attempt_no as "attemptNo" from payment_orders where pay_order_no = ${payOrderNo}`.execute(db());
        const atChannel = await rig.connector().confirm(sent.channel!, { attemptNo: rows[0]!.attemptNo, smsCode: code });
        assert.equal(atChannel.kind === 'answered' && atChannel.data.status, 'SUCCESS');
        await crashed(payOrderNo, 'CALLING');

        const paid = await rig.waitForStatus(payer, payOrderNo, 'SUCCESS');
        assert.deepEqual([paid.payable, paid.discount], ['90.00', '10.00']);
        assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
        const coupons = (await rig.as<{ id: string; status: string }[]>(payer, 'GET', '/my/coupons')).body;
        assert.equal(coupons[0]!.status, 'USED');
      });

      test('the channel said SUCCESS and the process died before the accounting: accounted exactly once, however often recovery runs', async () => {
        const payer = await rig.payer();
        const { payOrderNo, sent, code } = await quickPayReady(payer, 4_321n);
        const { rows } = await sql<{ attemptNo: string }>`select sms_attempt_no as "attemptNo" from payment_orders where pay_order_no = ${payOrderNo}`.execute(db());
        await rig.connector().confirm(sent.channel!, { attemptNo: rows[0]!.attemptNo, smsCode: code });
        await crashed(payOrderNo, 'SUCCESS');
        await rig.waitForStatus(payer, payOrderNo, 'SUCCESS');
        assert.equal(await rig.coffer.payments.recoverDue(), 0);
        assert.equal(await rig.balance(payer.holdingAccountId), '43.21');
        const { rows: events } = await sql<{ n: number }>`select count(*)::int as n from outbox_messages where topic = 'payment.final' and key = ${payOrderNo}`.execute(db());
        assert.equal(events[0]!.n, 1);
        await rig.assertInvariants();
      });

      test('the order was claimed and the channel never called: stepped back, the same code then pays', async () => {
        const payer = await rig.payer();
        const { payOrderNo, code } = await quickPayReady(payer, 1_000n);
        await crashed(payOrderNo, 'SMS_SENT');
        const deadline = Date.now() + 5000;
        while ((await rig.payment(payer, payOrderNo)).step !== 'SMS_SENT') {
          assert.ok(Date.now() < deadline, 'not stepped back');
          await new Promise((r) => setTimeout(r, 50));
        }
        await assertNothingMoved(payer, payOrderNo);
        assert.equal((await rig.confirm(payer, payOrderNo, code)).body.status, 'SUCCESS');
        assert.equal(await rig.balance(payer.holdingAccountId), '10.00');
      });
    });
  });
}

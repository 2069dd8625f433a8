/**
 * The payment core's flows over real HTTP against the bank simulator process,
 * on both stores: quick pay (the channel's own SMS), the fallback to direct
 * debit (Coffer's SMS), coupons, cards, routing by the channel configuration,
 * expiry and cancel; the ledger checked to the cent.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import { testStoreKinds } from '../support/stores.ts';
import { assertProblem, cardEnding, PaymentsRig } from './support.ts';

for (const { kind, skip } of await testStoreKinds()) {
  describe(`payments flows (${kind})`, { skip }, () => {
    let rig: PaymentsRig;

    before(async () => {
      rig = await PaymentsRig.start(kind, { SMS_RESEND_COOLDOWN_S: '60' });
    });
    after(async () => {
      await rig?.close();
    });
    beforeEach(async () => {
      await rig.resetChannels();
    });

    async function finalEvents(payOrderNo: string) {
      const { rows } = await sql<{ payload: { status: string; payable: string; discount: string } }>`
        select payload from outbox_messages where topic = 'payment.final' and key = ${payOrderNo}`.execute(rig.coffer.store.db);
      return rows.map((r) => r.payload);
    }

    test('quick pay: the routed channel texts its code, confirm debits it, the holding is credited once, PAYMENT_FINAL goes out', async () => {
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 10_000n);
      const sent = await rig.smsOk(payer, payOrderNo);
      assert.deepEqual([sent.status, sent.step, sent.method, sent.smsSentBy], ['DOING', 'SMS_SENT', 'QUICK_PAY', 'CHANNEL']);
      assert.ok(sent.channel === 'QP_ALPHA' || sent.channel === 'QP_BETA');
      assert.match(sent.mobileMasked ?? '', /^\d{3}\*{4}\d{4}$/);
      const texted = await rig.channelCode(payer.mobile);
      assert.equal(texted.channelCode, sent.channel);

      const paid = await rig.confirm(payer, payOrderNo, texted.code);
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      assert.deepEqual([paid.body.status, paid.body.step, paid.body.amount, paid.body.payable, paid.body.channel], ['SUCCESS', 'DONE', '100.00', '100.00', sent.channel]);
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
      const moved = await rig.transfer(`payment:${payOrderNo}:payable`);
      assert.deepEqual([moved.body.amount, moved.body.creditAccountId, moved.body.code], ['100.00', payer.holdingAccountId, 'subscription']);
      assert.equal((await rig.transfer(`payment:${payOrderNo}:discount`)).status, 404, 'no coupon, no discount transfer');

      // The same code again (a retry, a double click): the final answer, nothing moves twice.
      const again = await rig.confirm(payer, payOrderNo, texted.code);
      assert.deepEqual([again.status, again.body.status], [200, 'SUCCESS']);
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
      assertProblem(await rig.sms(payer, payOrderNo), 409, 'PAYMENT_FINISHED');
      assert.deepEqual((await finalEvents(payOrderNo)).map((e) => [e.status, e.payable]), [['SUCCESS', '100.00']]);

      const [decision] = await rig.decisions(payOrderNo);
      assert.equal(decision!.step, 'SEND_SMS');
      assert.deepEqual(decision!.candidates.find((c) => c.code === 'DD_GAMMA'), { code: 'DD_GAMMA', eligible: false, reason: 'METHOD_NOT_SUPPORTED' });
      assert.equal(decision!.rule, 'WEIGHT', 'two quick-pay channels share the priority: the weights chose');
      assert.equal(decision!.chosen, sent.channel);
      const metrics = await (await fetch(`${rig.coffer.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`coffer_payment_channel_calls_total\\{channel="${sent.channel}",operation="CONFIRM",outcome="answered:SUCCESS"\\} \\d`));
      await rig.assertInvariants();
    });

    test('fallback: when every quick-pay SMS fails the order becomes a direct debit, Coffer texts the code and DD_GAMMA debits', async () => {
      await rig.setChannel('QP_ALPHA', { smsFailing: true });
      await rig.setChannel('QP_BETA', { smsFailing: true });
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 2_550n);
      const sent = await rig.smsOk(payer, payOrderNo);
      assert.deepEqual([sent.step, sent.method, sent.smsSentBy], ['SMS_SENT', 'DIRECT_DEBIT', 'COFFER']);
      const code = await rig.cofferCode(payer.mobile);

      const paid = await rig.confirm(payer, payOrderNo, code);
      assert.deepEqual([paid.status, paid.body.status, paid.body.channel], [200, 'SUCCESS', 'DD_GAMMA']);
      assert.equal(await rig.balance(payer.holdingAccountId), '25.50');
      const decisions = await rig.decisions(payOrderNo);
      assert.deepEqual(decisions.map((d) => [d.step, d.method, d.rule]), [
        ['SEND_SMS', 'QUICK_PAY', 'NONE'],
        ['SEND_SMS', 'DIRECT_DEBIT', 'PRIORITY'],
        ['DEBIT', 'DIRECT_DEBIT', 'PRIORITY'],
      ]);
      assert.equal(decisions[0]!.order.length, 2, 'both quick-pay channels were tried');
      await rig.assertInvariants();
    });

    test("fallback: a resend within Coffer's SMS cool-down is refused and the code already sent still pays", async () => {
      await rig.editChannel('QP_ALPHA', { enabled: false });
      await rig.editChannel('QP_BETA', { enabled: false });
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 1_000n);
      assert.equal((await rig.smsOk(payer, payOrderNo)).method, 'DIRECT_DEBIT');
      const code = await rig.cofferCode(payer.mobile);
      assertProblem(await rig.sms(payer, payOrderNo), 429, 'SMS_RESEND_TOO_SOON');
      const still = await rig.payment(payer, payOrderNo);
      assert.deepEqual([still.step, still.method, still.smsSentBy], ['SMS_SENT', 'DIRECT_DEBIT', 'COFFER']);
      assert.equal((await rig.confirm(payer, payOrderNo, code)).body.status, 'SUCCESS');
    });

    test('fallback: no quick-pay channel can take the payment (disabled, over its limit) -> direct debit without asking a quick-pay channel', async () => {
      await rig.editChannel('QP_ALPHA', { enabled: false });
      await rig.editChannel('QP_BETA', { maxAmount: '50.00' });
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 10_000n);
      const sent = await rig.smsOk(payer, payOrderNo);
      assert.equal(sent.method, 'DIRECT_DEBIT');
      const [quick] = await rig.decisions(payOrderNo);
      assert.deepEqual(quick!.candidates.filter((c) => c.code !== 'DD_GAMMA'), [
        { code: 'QP_ALPHA', eligible: false, reason: 'DISABLED' },
        { code: 'QP_BETA', eligible: false, reason: 'AMOUNT_ABOVE_MAX' },
      ].sort((a, b) => (a.code < b.code ? -1 : 1)));
      const paid = await rig.confirm(payer, payOrderNo, await rig.cofferCode(payer.mobile));
      assert.equal(paid.body.status, 'SUCCESS');
    });

    test('routing: a lower priority number wins; a bank list excludes other banks', async () => {
      await rig.editChannel('QP_BETA', { priority: 5 });
      const payer = await rig.payer();
      const first = await rig.createPayment(payer, 1_000n);
      assert.equal((await rig.smsOk(payer, first)).channel, 'QP_BETA');
      assert.equal((await rig.decisions(first))[0]!.rule, 'PRIORITY');

      await rig.editChannel('QP_BETA', { banks: ['CMB'] });
      const second = await rig.createPayment(payer, 1_000n);
      assert.equal((await rig.smsOk(payer, second)).channel, 'QP_ALPHA');
      const [decision] = await rig.decisions(second);
      assert.deepEqual(decision!.candidates.find((c) => c.code === 'QP_BETA'), { code: 'QP_BETA', eligible: false, reason: 'BANK_NOT_SUPPORTED' });
    });

    test('coupons: the discount comes off the card debit, coupon expense makes up the holding, the coupon is used once', async () => {
      const payer = await rig.payer();
      const coupon = await rig.issueCoupon(payer, '10.00', '50.00');
      const payOrderNo = await rig.createPayment(payer, 10_000n);
      const sent = await rig.smsOk(payer, payOrderNo, { couponId: coupon.id });
      assert.deepEqual([sent.amount, sent.discount, sent.payable, sent.couponId], ['100.00', '10.00', '90.00', coupon.id]);
      const paid = await rig.confirm(payer, payOrderNo, (await rig.channelCode(payer.mobile)).code);
      assert.equal(paid.body.status, 'SUCCESS');
      assert.equal(await rig.balance(payer.holdingAccountId), '100.00');
      assert.equal((await rig.transfer(`payment:${payOrderNo}:payable`)).body.amount, '90.00');
      assert.equal((await rig.transfer(`payment:${payOrderNo}:discount`)).body.amount, '10.00');
      const mine = (await rig.as<{ id: string; status: string; payOrderNo?: string }[]>(payer, 'GET', '/my/coupons')).body;
      assert.deepEqual(mine.map((c) => [c.id, c.status, c.payOrderNo]), [[coupon.id, 'USED', payOrderNo]]);

      const next = await rig.createPayment(payer, 10_000n);
      assertProblem(await rig.sms(payer, next, { couponId: coupon.id }), 409, 'COUPON_NOT_AVAILABLE');
      await rig.assertInvariants();
    });

    test('coupons: below the minimum spend, expired, in another user\'s name', async () => {
      const payer = await rig.payer();
      const other = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 4_000n);
      assertProblem(await rig.sms(payer, payOrderNo, { couponId: (await rig.issueCoupon(payer, '5.00', '50.00')).id }), 422, 'COUPON_MIN_SPEND_NOT_MET');
      const soon = await rig.issueCoupon(payer, '1.00', '2.00', new Date(Date.now() + 300).toISOString());
      await new Promise((r) => setTimeout(r, 400));
      assertProblem(await rig.sms(payer, payOrderNo, { couponId: soon.id }), 422, 'COUPON_EXPIRED');
      assert.equal((await rig.as<{ status: string }[]>(payer, 'GET', '/my/coupons?status=EXPIRED')).body.length, 1);
      assertProblem(await rig.sms(payer, payOrderNo, { couponId: (await rig.issueCoupon(other, '1.00', '2.00')).id }), 404, 'COUPON_NOT_FOUND');
      const still = await rig.payment(payer, payOrderNo);
      assert.deepEqual([still.status, still.step, still.discount], ['DOING', 'CREATED', '0.00'], 'bad input changes nothing');
      assertProblem(await rig.admin('POST', '/admin/coupons', { userId: payer.userId, amountOff: '10.00', minSpend: '5.00', currency: 'CNY', expiresAt: new Date(Date.now() + 60_000).toISOString() }), 400, 'VALIDATION_FAILED');
    });

    test('coupons: issuing again with the same Idempotency-Key answers the first coupon and issues no second', async () => {
      const payer = await rig.payer();
      const body = { userId: payer.userId, amountOff: '3.00', minSpend: '10.00', currency: 'CNY', expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
      const key = { 'idempotency-key': `coupon-${payer.userId}` };
      const first = await rig.admin<{ id: string }>('POST', '/admin/coupons', body, key);
      const again = await rig.admin<{ id: string }>('POST', '/admin/coupons', body, key);
      assert.deepEqual([first.status, again.status, again.body.id], [201, 201, first.body.id]);
      assertProblem(await rig.admin('POST', '/admin/coupons', { ...body, amountOff: '4.00' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal((await rig.as<unknown[]>(payer, 'GET', '/my/coupons')).body.length, 1);
    });

    test('cards: Luhn-checked, stored sealed, shown masked, removable', async () => {
      const payer = await rig.payer();
      assertProblem(await rig.as(payer, 'POST', '/my/payment-cards', { cardNumber: '6222020000004320', holderName: 'Li Lei', mobile: payer.mobile, bankCode: 'ICBC' }), 400, 'CARD_NUMBER_INVALID');
      const number = cardEnding('7777');
      const added = await rig.as<{ id: string; cardNumberMasked: string }>(payer, 'POST', '/my/payment-cards', { cardNumber: number, holderName: 'Li Lei', mobile: payer.mobile, bankCode: 'icbc' });
      assert.equal(added.status, 201);
      assert.equal(added.body.cardNumberMasked, '**** **** **** 7777');
      const listed = await rig.as(payer, 'GET', '/my/payment-cards');
      assert.ok(!JSON.stringify(listed.body).includes(number), 'the number never comes back whole');
      const { rows } = await sql<{ sealed: string }>`select number_sealed as sealed from payment_cards where id = ${added.body.id}`.execute(rig.coffer.store.db);
      assert.ok(!rows[0]!.sealed.includes(number) && !rows[0]!.sealed.includes('7777'), 'sealed at rest');
      assert.equal((await rig.as(payer, 'DELETE', `/my/payment-cards/${added.body.id}`)).status, 204);
      const payOrderNo = await rig.createPayment(payer, 100n);
      assertProblem(await rig.sms(payer, payOrderNo, { cardId: added.body.id }), 404, 'PAYMENT_CARD_NOT_FOUND');
      const stranger = await rig.payer();
      assertProblem(await rig.sms(stranger, payOrderNo), 404, 'PAYMENT_NOT_FOUND');
    });

    test('expiry and cancel: an unconfirmed payment fails by itself at its expiry; cancel answers the status', async () => {
      const payer = await rig.payer();
      const expiring = await rig.createPayment(payer, 500n, { expiresInMs: 300 });
      await rig.smsOk(payer, expiring);
      const expired = await rig.waitForStatus(payer, expiring, 'FAIL');
      assert.equal(expired.errorCode, 'PAYMENT_EXPIRED');
      assertProblem(await rig.sms(payer, expiring), 409, 'PAYMENT_FINISHED');
      const late = await rig.confirm(payer, expiring, (await rig.channelCode(payer.mobile)).code);
      assert.deepEqual([late.status, late.body.status], [200, 'FAIL'], 'a confirm on a finished order answers its final state');

      const cancelled = await rig.createPayment(payer, 500n);
      assert.equal(await rig.coffer.payments.cancel(cancelled, 'the buyer changed their mind'), 'FAIL');
      assert.equal(await rig.coffer.payments.cancel(cancelled, 'again'), 'FAIL');
      assert.equal((await rig.payment(payer, cancelled)).errorCode, 'CANCELLED');

      const paid = await rig.createPayment(payer, 500n);
      await rig.smsOk(payer, paid);
      await rig.confirm(payer, paid, (await rig.channelCode(payer.mobile)).code);
      assert.equal(await rig.coffer.payments.cancel(paid, 'too late'), 'SUCCESS');
      assert.deepEqual((await finalEvents(expiring)).map((e) => e.status), ['FAIL']);
      assert.equal(await rig.balance(payer.holdingAccountId), '5.00');
    });

    test('createPayment is idempotent on the business order; other content under it is a conflict', async () => {
      const payer = await rig.payer();
      const first = await rig.createPayment(payer, 700n, { businessOrderNo: `sub-idem-${payer.userId}` });
      assert.equal(await rig.createPayment(payer, 700n, { businessOrderNo: `sub-idem-${payer.userId}` }), first);
      await assert.rejects(rig.createPayment(payer, 800n, { businessOrderNo: `sub-idem-${payer.userId}` }), /PAYMENT_CONFLICT|other content/);
    });

    test('admin: channel edits are version-guarded and validated; the list shows the circuit', async () => {
      const channels = await rig.adminOk<{ code: string; version: number; circuit: { state: string } }[]>('GET', '/admin/channels');
      assert.deepEqual(channels.map((c) => [c.code, c.circuit.state]).sort(), [['DD_GAMMA', 'CLOSED'], ['QP_ALPHA', 'CLOSED'], ['QP_BETA', 'CLOSED']]);
      const alpha = channels.find((c) => c.code === 'QP_ALPHA')!;
      await rig.adminOk('PUT', '/admin/channels/QP_ALPHA', { weight: 50, version: alpha.version });
      assertProblem(await rig.admin('PUT', '/admin/channels/QP_ALPHA', { weight: 60, version: alpha.version }), 409, 'CHANNEL_VERSION_CONFLICT');
      assertProblem(await rig.admin('PUT', '/admin/channels/QP_ALPHA', { minAmount: '10.00', maxAmount: '5.00', version: alpha.version + 1 }), 400, 'VALIDATION_FAILED');
      assertProblem(await rig.admin('PUT', '/admin/channels/NOPE', { version: 1 }), 404, 'CHANNEL_NOT_FOUND');
      assert.equal((await rig.client.request('GET', '/admin/channels')).status, 401);
      const catalogue = JSON.stringify((await rig.client.request('GET', '/errors')).body);
      for (const code of ['PAYMENT_IN_PROGRESS', 'COUPON_NOT_AVAILABLE', 'CARD_NUMBER_INVALID', 'CHANNEL_VERSION_CONFLICT']) assert.ok(catalogue.includes(code), code);
      const openapi = (await rig.client.request<{ paths: Record<string, unknown> }>('GET', '/openapi.json')).body;
      for (const path of ['/my/payments/{payOrderNo}/sms', '/my/payments/{payOrderNo}/confirm', '/my/payment-cards', '/admin/routing-decisions']) assert.ok(openapi.paths[path], path);
    });

    test('a frozen user moves no money: /sms and /confirm are refused', async () => {
      const payer = await rig.payer();
      const payOrderNo = await rig.createPayment(payer, 1_000n);
      await rig.adminOk('POST', `/admin/users/${payer.userId}/freeze`, {});
      assertProblem(await rig.sms(payer, payOrderNo), 403, 'USER_FROZEN');
      assertProblem(await rig.confirm(payer, payOrderNo, '123456'), 403, 'USER_FROZEN');
      assert.equal((await rig.payment(payer, payOrderNo)).step, 'CREATED');
    });
  });
}

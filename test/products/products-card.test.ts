/**
 * Buying a savings product by card (SPEC 7 through the payment core, SPEC 8):
 * Coffer against the bank simulator as the separate program it is, whose quick
 * pay channel texts its own code (read from its channel SMS sink, as a demo
 * would). Card orders wait AWAITING_PAYMENT with their units reserved; the
 * payment core's payment.final pays or cancels them; an unpaid order expires on
 * the test clock and gives its units back. The simulator's bank key also signs
 * the depository notifications that open the test users' wallets.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { luhnCardNumber } from '../bank-simulator/support.ts';
import type { Api } from '../depository/support.ts';
import { type SimulatorRig, startWithBankSimulator } from '../depository/with-simulator.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  addCny,
  adminProduct,
  advanceDays,
  assertProblem,
  createProduct,
  eventually,
  fundedUser,
  holding,
  type HoldingView,
  subscribe,
  type TestUser,
  waitForHolding,
  walletBalance,
} from './support.ts';

/** A Luhn-valid card number ending in `last4` (the simulator declines by the last four digits). */
function cardEndingIn(last4: string): string {
  for (;;) {
    const number = luhnCardNumber(last4.slice(0, 3));
    if (number.endsWith(last4)) return number;
  }
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`buying savings products by card through the payment core and the simulator process (${kind})`, { skip }, () => {
    let rig: SimulatorRig;
    let bank: SimulatorRig['bank'];
    let api: Api;

    before(async () => {
      rig = await startWithBankSimulator(kind, 'products-card', {
        PRODUCT_JOB_INTERVAL_MS: '100',
        PAYMENT_JOB_INTERVAL_MS: '100',
        CLOCK_REFRESH_MS: '100',
        USER_SESSION_TTL_S: String(366 * 86_400),
      });
      ({ bank, api } = rig);
    });
    after(async () => {
      await rig?.close();
    });
    afterEach(async () => {
      if (api) await api.invariantsHold();
    });

    async function addCard(user: TestUser, number = luhnCardNumber()): Promise<{ cardId: string; mobile: string }> {
      const mobile = `139${String(randomInt(0, 1e8)).padStart(8, '0')}`;
      const card = await api.my<{ id: string }>(user, 'POST', '/my/payment-cards', { cardNumber: number, holderName: 'Li Lei', mobile, bankCode: 'ICBC' });
      assert.equal(card.status, 201, card.text);
      return { cardId: card.body.id, mobile };
    }

    /** Quick pay as the user does it: the channel texts a code, the user types it. */
    async function payByQuickPay(user: TestUser, payOrderNo: string, card: { cardId: string; mobile: string }): Promise<{ status: string }> {
      const sms = await api.my<{ step: string; smsSentBy: string }>(user, 'POST', `/my/payments/${payOrderNo}/sms`, { cardId: card.cardId });
      assert.equal(sms.status, 200, sms.text);
      assert.deepEqual([sms.body.step, sms.body.smsSentBy], ['SMS_SENT', 'CHANNEL']);
      const texted = await eventually(async () => {
        const inbox = (await (await fetch(`${bank.url}/sandbox/channel-sms?mobile=${card.mobile}`)).json()) as { code: string }[];
        assert.ok(inbox.length > 0, 'the channel texted a code');
        return inbox[0]!;
      });
      const confirmed = await api.my<{ status: string }>(user, 'POST', `/my/payments/${payOrderNo}/confirm`, { smsCode: texted.code });
      assert.equal(confirmed.status, 200, confirmed.text);
      return confirmed.body;
    }

    test('quick pay: AWAITING_PAYMENT with the units reserved, PAID on payment.final, then matures into the wallet and can be withdrawn', async () => {
      const user = await fundedUser(api, '10.00');
      const product = await createProduct(api, { totalAmount: '3000.00', termDays: 30, annualRate: '3.65', dayCount: 'ACT/365', minAmount: '100.00', stepAmount: '100.00' });
      const ordered = await subscribe(api, user, product.id, '1000.00', 'CARD');
      assert.equal(ordered.status, 201, ordered.text);
      const order = ordered.body;
      assert.equal(order.status, 'AWAITING_PAYMENT');
      assert.match(order.payOrderNo ?? '', /^pay_/);
      assert.ok(order.expiresAt, 'an unpaid order says until when');
      assert.deepEqual([(await adminProduct(api, product.id)).reservedAmount, (await adminProduct(api, product.id)).raisedAmount], ['1000.00', '0.00']);

      const paid = await payByQuickPay(user, order.payOrderNo!, await addCard(user));
      assert.equal(paid.status, 'SUCCESS');
      const h = await waitForHolding(api, user, order.id, 'PAID');
      assert.ok(h.paidAt);
      const after = await adminProduct(api, product.id);
      assert.deepEqual([after.reservedAmount, after.raisedAmount], ['0.00', '1000.00']);
      assert.equal(await walletBalance(api, user), '10.00', 'the card paid, not the wallet');

      await advanceDays(api, 31);
      const settled = await waitForHolding(api, user, order.id, 'SETTLED');
      assert.equal(settled.interest, '3.00', '1000 x 3.65 % x 30 / 365');
      assert.equal(await walletBalance(api, user), addCny('10.00', '1000.00', '3.00'));
      const withdraw = await api.my(user, 'POST', '/my/withdraw-records', { amount: '1000.00', callbackUrl: 'https://shop.test.example/back' });
      assert.ok(withdraw.status === 201 || withdraw.status === 202, withdraw.text);
      assert.equal((await api.wallet(user))!.available, addCny('1013.00', '-1000.00', '-2.00'), 'the proceeds are held for the withdrawal (amount + fee)');
    });

    test('a declined card cancels the order and gives its units back', async () => {
      const user = await fundedUser(api, '10.00');
      const product = await createProduct(api, { totalAmount: '1000.00' });
      const order = (await subscribe(api, user, product.id, '1000.00', 'CARD')).body;
      assert.equal((await adminProduct(api, product.id)).status, 'SOLD_OUT', 'all reserved: sold out while it waits');
      const other = await fundedUser(api, '1000.00');
      assertProblem(await subscribe(api, other, product.id, '100.00'), 409, 'PRODUCT_SOLD_OUT');
      const result = await payByQuickPay(user, order.payOrderNo!, await addCard(user, cardEndingIn('0069')));
      assert.equal(result.status, 'FAIL');
      const cancelled = await waitForHolding(api, user, order.id, 'CANCELLED');
      assert.ok(cancelled.errorCode, 'the payment error is kept');
      const released = await adminProduct(api, product.id);
      assert.deepEqual([released.reservedAmount, released.raisedAmount, released.status], ['0.00', '0.00', 'ON_SALE']);
      assert.equal((await subscribe(api, other, product.id, '100.00')).status, 201, 'the units are for sale again');
    });

    test('an unpaid card order expires on the test clock and releases its reservation', async () => {
      const user = await fundedUser(api, '10.00');
      const product = await createProduct(api, { totalAmount: '5000.00' });
      const order: HoldingView = (await subscribe(api, user, product.id, '2000.00', 'CARD')).body;
      assert.equal((await adminProduct(api, product.id)).remainingAmount, '3000.00');
      await advanceDays(api, 1);
      const expired = await waitForHolding(api, user, order.id, 'CANCELLED');
      assert.ok(expired.errorCode, `cancelled with ${expired.errorCode}`);
      assert.deepEqual([(await adminProduct(api, product.id)).remainingAmount, (await adminProduct(api, product.id)).reservedAmount], ['5000.00', '0.00']);
      const payment = await api.my<{ status: string }>(user, 'GET', `/my/payments/${order.payOrderNo}`);
      assert.equal(payment.body.status, 'FAIL', 'the payment was failed before the units were released');
      assert.equal((await holding(api, user, order.id)).earnedToDate, '0.00');
    });

    test('card and wallet buyers racing for the last units: exactly the cap is taken; expired card orders give theirs back', async () => {
      const product = await createProduct(api, { totalAmount: '1000.00', minAmount: '100.00', stepAmount: '100.00' });
      const buyers = await Promise.all(Array.from({ length: 5 }, () => fundedUser(api, '1000.00')));
      const tries = Array.from({ length: 20 }, (_, i) => ({ user: buyers[i % buyers.length]!, payWith: i % 2 === 0 ? 'CARD' : 'WALLET' }));
      const replies = await Promise.all(tries.map(async (t) => ({ user: t.user, reply: await subscribe(api, t.user, product.id, '100.00', t.payWith) })));
      const accepted = replies.filter((r) => r.reply.status === 201);
      assert.equal(accepted.length, 10, 'ten units of 100.00, never more');
      for (const { reply } of replies.filter((r) => r.reply.status !== 201)) {
        assert.ok(['PRODUCT_SOLD_OUT', 'PRODUCT_QUOTA_EXCEEDED'].includes((reply.body as unknown as { code: string }).code), reply.text);
      }
      const byCard = accepted.filter((r) => r.reply.body.payWith === 'CARD');
      const full = await adminProduct(api, product.id);
      assert.deepEqual([full.raisedAmount, full.reservedAmount, full.status], [`${(10 - byCard.length) * 100}.00`, `${byCard.length * 100}.00`, 'SOLD_OUT']);

      await advanceDays(api, 1);
      for (const { user, reply } of byCard) await waitForHolding(api, user, reply.body.id, 'CANCELLED');
      const after = await adminProduct(api, product.id);
      assert.deepEqual([after.reservedAmount, after.raisedAmount], ['0.00', `${(10 - byCard.length) * 100}.00`]);
      assert.equal(after.status, byCard.length > 0 ? 'ON_SALE' : 'SOLD_OUT');
    });
  });
}

/**
 * Issue 7 (seed 002 with SPEC 2, 3, 8): wallet accounts by type and currency,
 * card top-ups through the payment core, and transaction orders. Coffer runs
 * against the bank simulator as its own process: its quick-pay channels text
 * their own codes (read from its channel SMS sink), its sandbox controls take
 * channels down; the simulator's bank key also signs the depository
 * notifications that open the test users' accounts. Both stores.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { publish } from '../../src/platform/outbox/index.ts';
import { type Api, eventually, killedAfterCommit, openUserAccount, rechargeThroughBank, type TestUser } from '../depository/support.ts';
import { type SimulatorRig, startWithBankSimulator } from '../depository/with-simulator.ts';
import { cardEnding, PAYMENT_TEST_ENV } from '../payments/support.ts';
import { assertProblem, createProduct, subscribe } from '../products/support.ts';
import { testStoreKinds } from '../support/stores.ts';

const CALLBACK = 'https://wallet.test.example/back';

interface AccountView {
  id: string;
  userId: string;
  accountNo: string;
  type: string;
  currency: string;
  balance: string;
  available: string;
  status: string;
  cardTopUps: boolean;
  createdAt: string;
  updatedAt: string;
}
interface OrderView {
  id: string;
  type: string;
  serialNo: string;
  status: string;
  amount: string;
  currency: string;
  errorCode: string | null;
  transactedAt: string | null;
  updatedAt: string;
}
interface OrderDetail extends OrderView {
  transfers: { id: string; amount: string; state: string }[];
  entries: { transferId: string; direction: string; amount: string; balanceBefore: string; balanceAfter: string; currency: string }[];
}
interface TopUp {
  order: OrderView;
  payment: { payOrderNo: string; status: string; step: string; method: string | null; smsSentBy: string | null; errorCode: string | null };
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`wallet accounts by currency, card top-ups and transaction orders (${kind})`, { skip }, () => {
    let rig: SimulatorRig;
    let bank: SimulatorRig['bank'];
    let coffer: RunningCoffer;
    let api: Api;

    before(async () => {
      rig = await startWithBankSimulator(kind, 'wallet-accounts', { ...PAYMENT_TEST_ENV, CLOCK_REFRESH_MS: '50', USER_SESSION_TTL_S: String(366 * 86_400) });
      ({ bank, coffer, api } = rig);
    });
    after(async () => {
      await rig?.close();
    });
    afterEach(async () => {
      if (!api) return;
      await api.invariantsHold();
      // Every channel up again, circuits closed: each test starts from the seeded routing.
      assert.equal((await fetch(`${bank.url}/sandbox/channels/reset`, { method: 'POST' })).status, 200);
      await sql`update payment_circuits set state = 'CLOSED', failures = 0, window_started_at = null, opened_at = null, retry_at = null, trial_until = null`.execute(coffer.store.db);
    });

    async function openAccount(user: TestUser, body: unknown) {
      return api.my<AccountView>(user, 'POST', '/my/accounts', body);
    }

    async function walletIn(user: TestUser, currency: string): Promise<AccountView> {
      const reply = await api.my<AccountView[]>(user, 'GET', `/my/accounts?type=WALLET&currency=${currency}`);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.length, 1, `one ${currency} wallet`);
      return reply.body[0]!;
    }

    /** A user with an opened depository account (CNY wallet), a USD wallet and a payment card. */
    async function cardUser(number = cardEnding('4242')): Promise<TestUser & { cardId: string; cardMobile: string; usd: AccountView }> {
      const user = await openUserAccount(api, CALLBACK);
      const usd = await openAccount(user, { type: 'WALLET', currency: 'USD' });
      assert.equal(usd.status, 201, usd.text);
      const cardMobile = `139${String(randomInt(0, 1e8)).padStart(8, '0')}`;
      const card = await api.my<{ id: string }>(user, 'POST', '/my/payment-cards', { cardNumber: number, holderName: 'Li Lei', mobile: cardMobile, bankCode: 'ICBC' });
      assert.equal(card.status, 201, card.text);
      return { ...user, cardId: card.body.id, cardMobile, usd: usd.body };
    }

    function topUp(user: TestUser & { cardId: string }, amount: string, currency = 'USD', cardId = user.cardId) {
      return api.my<TopUp>(user, 'POST', '/my/card-recharges', { amount, currency, cardId });
    }

    async function topUpOk(user: TestUser & { cardId: string }, amount: string, currency = 'USD'): Promise<TopUp> {
      const reply = await topUp(user, amount, currency);
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }

    /** The code the quick-pay channel texted for this payment's attempt. */
    async function channelCode(payOrderNo: string, mobile: string): Promise<string> {
      const { rows } = await sql<{ attemptNo: string }>`select sms_attempt_no as "attemptNo" from payment_orders where pay_order_no = ${payOrderNo}`.execute(coffer.store.db);
      return eventually(async () => {
        const inbox = (await (await fetch(`${bank.url}/sandbox/channel-sms?mobile=${mobile}`)).json()) as { attemptNo: string; code: string }[];
        const code = inbox.find((t) => t.attemptNo === rows[0]?.attemptNo)?.code;
        assert.ok(code, `the channel texted a code for ${payOrderNo}`);
        return code;
      });
    }

    /** The code Coffer's own SMS module texted (direct-debit fallback), newest first. */
    async function cofferCode(mobile: string): Promise<string> {
      const sink = await api.admin<{ data: { text: string }[] }>('GET', `/sandbox/sms?mobile=${mobile}`);
      const code = /\b(\d{6})\b/.exec(sink.body.data[0]?.text ?? '')?.[1];
      assert.ok(code, `Coffer texted a code to ${mobile}`);
      return code;
    }

    function confirm(user: TestUser, payOrderNo: string, smsCode: string) {
      return api.my<{ status: string; errorCode: string | null }>(user, 'POST', `/my/payments/${payOrderNo}/confirm`, { smsCode });
    }

    async function order(user: TestUser, id: string): Promise<OrderDetail> {
      const reply = await api.my<OrderDetail>(user, 'GET', `/my/orders/${id}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body;
    }

    async function waitForOrder(user: TestUser, id: string, status: string): Promise<OrderDetail> {
      return eventually(async () => {
        const current = await order(user, id);
        assert.equal(current.status, status, `order ${id} is ${current.status}, waiting for ${status}`);
        return current;
      }, 15_000);
    }

    async function orders(user: TestUser, query = ''): Promise<{ data: OrderView[]; hasMore: boolean }> {
      const reply = await api.my<{ data: OrderView[]; hasMore: boolean }>(user, 'GET', `/my/orders${query}`);
      assert.equal(reply.status, 200, reply.text);
      return reply.body;
    }

    /** Publishes a payment.final message as the payment core would, and waits until every consumer took it. */
    async function redeliver(payload: Record<string, unknown>): Promise<void> {
      await coffer.store.db.transaction().execute((trx) => publish(trx, { topic: 'payment.final', key: String(payload.payOrderNo), payload }));
      await eventually(async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from outbox_messages where topic = 'payment.final' and delivered_at is null`.execute(coffer.store.db);
        assert.equal(rows[0]!.n, 0, 'the redelivered result was consumed');
      });
    }

    async function finalEvent(payOrderNo: string): Promise<Record<string, unknown>> {
      const { rows } = await sql<{ payload: Record<string, unknown> | string }>`select payload from outbox_messages where topic = 'payment.final' and key = ${payOrderNo}`.execute(coffer.store.db);
      assert.equal(rows.length, 1, 'one payment.final per payment');
      const payload = rows[0]!.payload;
      return typeof payload === 'string' ? (JSON.parse(payload) as Record<string, unknown>) : payload;
    }

    // ---- accounts -------------------------------------------------------------------------------

    test('a user opens USD and EUR wallets beside the CNY one; account numbers are date + digits; queries filter by type and currency', async () => {
      const user = await openUserAccount(api, CALLBACK);
      const usd = await openAccount(user, { type: 'WALLET', currency: 'USD' });
      assert.equal(usd.status, 201, usd.text);
      assert.deepEqual([usd.body.type, usd.body.currency, usd.body.balance, usd.body.status, usd.body.userId], ['WALLET', 'USD', '0.00', 'ACTIVE', user.userId]);
      const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
      assert.match(usd.body.accountNo, new RegExp(`^${today}\\d{10}$`));
      const eur = await openAccount(user, { type: 'WALLET', currency: 'EUR' });
      assert.equal(eur.status, 201, eur.text);
      assert.notEqual(eur.body.accountNo, usd.body.accountNo);

      const all = await api.my<AccountView[]>(user, 'GET', '/my/accounts');
      assert.deepEqual(all.body.map((a) => [a.currency, a.cardTopUps]).sort(), [['CNY', false], ['EUR', true], ['USD', true]], 'cards top up every wallet but the depository’s');
      assert.deepEqual((await api.my<AccountView[]>(user, 'GET', '/my/accounts?currency=USD')).body.map((a) => a.accountNo), [usd.body.accountNo]);
      assert.deepEqual((await api.my<AccountView[]>(user, 'GET', '/my/accounts?type=PRODUCT_HOLDING')).body, []);
      for (const field of ['id', 'accountNo', 'type', 'currency', 'balance', 'createdAt', 'updatedAt']) assert.ok(field in all.body[0]!, `the query answers ${field}`);
      assert.deepEqual((await api.wallets(user)).map((w) => w.currency).sort(), ['CNY', 'EUR', 'USD'], 'GET /my/wallets lists every wallet');
      assert.equal((await api.wallet(user))!.currency, 'CNY');
    });

    test('bad account requests: duplicate, unknown type, a type users do not open, unknown currency, no depository account', async () => {
      const user = await openUserAccount(api, CALLBACK);
      assertProblem(await openAccount(user, { type: 'WALLET', currency: 'CNY' }), 409, 'ACCOUNT_ALREADY_EXISTS');
      assert.equal((await openAccount(user, { type: 'WALLET', currency: 'USD' })).status, 201);
      assertProblem(await openAccount(user, { type: 'WALLET', currency: 'USD' }), 409, 'ACCOUNT_ALREADY_EXISTS');
      assertProblem(await openAccount(user, { type: 'SAVINGS', currency: 'USD' }), 422, 'ACCOUNT_TYPE_NOT_OPENABLE');
      assertProblem(await openAccount(user, { type: 'FEE_INCOME', currency: 'USD' }), 422, 'ACCOUNT_TYPE_NOT_OPENABLE');
      assertProblem(await openAccount(user, { type: 'WALLET', currency: 'XYZ' }), 400, 'UNSUPPORTED_CURRENCY');
      assertProblem(await api.my(user, 'GET', '/my/accounts?currency=XYZ'), 400, 'UNSUPPORTED_CURRENCY');
      assert.equal((await api.my<AccountView[]>(user, 'GET', '/my/accounts')).body.length, 2, 'nothing else was opened');
      const stranger = await api.newUser();
      assertProblem(await openAccount(stranger, { type: 'WALLET', currency: 'USD' }), 409, 'ACCOUNT_NOT_OPENED');
    });

    // ---- card top-ups ---------------------------------------------------------------------------

    test('a USD top-up by card with the channel SMS credits the USD wallet once; the order SUCCEEDED links its transfer and entry', async () => {
      const user = await cardUser();
      const started = await topUpOk(user, '120.50');
      assert.deepEqual([started.order.type, started.order.status, started.order.currency, started.order.amount], ['RECHARGE_CARD', 'PENDING', 'USD', '120.50']);
      assert.equal(started.order.serialNo, started.payment.payOrderNo);
      assert.deepEqual([started.payment.step, started.payment.smsSentBy], ['SMS_SENT', 'CHANNEL']);
      const paid = await confirm(user, started.payment.payOrderNo, await channelCode(started.payment.payOrderNo, user.cardMobile));
      assert.equal(paid.body.status, 'SUCCESS', paid.text);

      const done = await waitForOrder(user, started.order.id, 'SUCCEEDED');
      assert.ok(done.transactedAt, 'a final order says when');
      assert.equal((await walletIn(user, 'USD')).balance, '120.50');
      assert.equal((await api.wallet(user))!.balance, '0.00', 'the CNY wallet is untouched');
      assert.deepEqual(done.transfers.map((t) => [t.id, t.amount, t.state]), [[`payment:${started.payment.payOrderNo}:payable`, '120.50', 'POSTED']]);
      assert.deepEqual(done.entries.map((e) => [e.direction, e.amount, e.balanceBefore, e.balanceAfter, e.currency]), [['CREDIT', '120.50', '0.00', '120.50', 'USD']]);

      // The same result delivered again, and a contradicting one: nothing moves, the order stays as it is.
      const event = await finalEvent(started.payment.payOrderNo);
      await redeliver(event);
      await redeliver({ ...event, status: 'FAIL', errorCode: 'FORGED' });
      const still = await order(user, started.order.id);
      assert.deepEqual([still.status, still.updatedAt, still.errorCode], ['SUCCEEDED', done.updatedAt, null]);
      assert.equal((await walletIn(user, 'USD')).balance, '120.50');

      const listed = await orders(user, '?type=RECHARGE_CARD&currency=USD');
      assert.deepEqual(listed.data.map((o) => [o.id, o.status]), [[started.order.id, 'SUCCEEDED']]);
    });

    test('a wrong SMS code is refused and moves nothing; the right one then pays', async () => {
      const user = await cardUser();
      const started = await topUpOk(user, '10.00');
      const code = await channelCode(started.payment.payOrderNo, user.cardMobile);
      assertProblem(await confirm(user, started.payment.payOrderNo, code === '000000' ? '111111' : '000000'), 422, 'SMS_CODE_INVALID');
      assert.equal((await order(user, started.order.id)).status, 'PENDING');
      assert.equal((await walletIn(user, 'USD')).balance, '0.00');
      assert.equal((await confirm(user, started.payment.payOrderNo, code)).body.status, 'SUCCESS');
      await waitForOrder(user, started.order.id, 'SUCCEEDED');
      assert.equal((await walletIn(user, 'USD')).balance, '10.00');
    });

    test('refused up front, with no order and no payment: unknown or card-less currency, the depository’s, no wallet in it, a frozen wallet, a frozen user, a card not mine', async () => {
      const user = await cardUser();
      assertProblem(await topUp(user, '10.00', 'XYZ'), 400, 'UNSUPPORTED_CURRENCY');
      assertProblem(await topUp(user, '10.00', 'CNY'), 422, 'CURRENCY_HELD_AT_DEPOSITORY');
      assert.equal((await openAccount(user, { type: 'WALLET', currency: 'GBP' })).status, 201);
      assertProblem(await topUp(user, '10.00', 'GBP'), 422, 'CURRENCY_NOT_PAYABLE_BY_CARD');
      assertProblem(await topUp(user, '10.00', 'EUR'), 409, 'WALLET_NOT_OPENED');
      assertProblem(await topUp(user, '10.00', 'USD', 'pcd_notmine'), 404, 'PAYMENT_CARD_NOT_FOUND');
      assertProblem(await topUp(user, '-1', 'USD'), 400, 'INVALID_AMOUNT');

      assert.equal((await api.admin('POST', `/admin/ledger/accounts/${user.usd.id}/freeze`)).status, 200);
      assertProblem(await topUp(user, '10.00'), 409, 'ACCOUNT_FROZEN');
      assert.equal((await api.admin('POST', `/admin/ledger/accounts/${user.usd.id}/unfreeze`)).status, 200);

      assert.equal((await api.admin('POST', `/admin/users/${user.userId}/freeze`)).status, 200);
      assertProblem(await topUp(user, '10.00'), 403, 'USER_FROZEN');
      assert.equal((await api.admin('POST', `/admin/users/${user.userId}/unfreeze`)).status, 200);

      assert.deepEqual((await orders(user, '?type=RECHARGE_CARD')).data, [], 'no order was opened');
      const payments = await api.my<{ data: unknown[] }>(user, 'GET', '/my/payments');
      assert.deepEqual(payments.body.data, [], 'no payment was created');
      assert.equal((await topUp(user, '10.00')).status, 201, 'the same top-up goes through once nothing stands in the way');
    });

    test('a top-up never confirmed fails at its expiry; a confirm or a success arriving after that moves nothing', async () => {
      const user = await cardUser();
      const started = await topUpOk(user, '30.00');
      const code = await channelCode(started.payment.payOrderNo, user.cardMobile);
      assert.equal((await api.admin('POST', '/sandbox/clock/advance', { days: 1 })).status, 200);
      const failed = await waitForOrder(user, started.order.id, 'FAILED');
      assert.equal(failed.errorCode, 'PAYMENT_EXPIRED');
      const late = await confirm(user, started.payment.payOrderNo, code);
      assert.deepEqual([late.status, late.body.status], [200, 'FAIL'], 'a confirm after expiry answers the final state');
      await redeliver({ ...(await finalEvent(started.payment.payOrderNo)), status: 'SUCCESS' });
      const still = await order(user, started.order.id);
      assert.deepEqual([still.status, still.updatedAt, still.transfers], ['FAILED', failed.updatedAt, []]);
      assert.equal((await walletIn(user, 'USD')).balance, '0.00');
    });

    test('a channel down: the SMS goes by the next quick-pay channel and the top-up pays', async () => {
      const user = await cardUser();
      assert.equal((await fetch(`${bank.url}/sandbox/channels/QP_ALPHA`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'DOWN' }) })).status, 200);
      const started = await topUpOk(user, '15.00');
      assert.deepEqual([started.payment.step, started.payment.smsSentBy], ['SMS_SENT', 'CHANNEL']);
      const { rows } = await sql<{ channel: string }>`select channel_code as channel from payment_orders where pay_order_no = ${started.payment.payOrderNo}`.execute(coffer.store.db);
      assert.equal(rows[0]!.channel, 'QP_BETA', 'routed around the down channel');
      assert.equal((await confirm(user, started.payment.payOrderNo, await channelCode(started.payment.payOrderNo, user.cardMobile))).body.status, 'SUCCESS');
      await waitForOrder(user, started.order.id, 'SUCCEEDED');
      assert.equal((await walletIn(user, 'USD')).balance, '15.00');
    });

    test('every channel down: a clear FAIL, the order FAILED, nothing moved', async () => {
      const user = await cardUser();
      for (const code of ['QP_ALPHA', 'QP_BETA', 'DD_GAMMA']) {
        assert.equal((await fetch(`${bank.url}/sandbox/channels/${code}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'DOWN' }) })).status, 200);
      }
      const started = await topUpOk(user, '25.00');
      assert.deepEqual([started.payment.method, started.payment.smsSentBy], ['DIRECT_DEBIT', 'COFFER'], 'fell back to direct debit with Coffer’s SMS');
      const failed = await confirm(user, started.payment.payOrderNo, await cofferCode(user.cardMobile));
      assert.deepEqual([failed.body.status, failed.body.errorCode], ['FAIL', 'CHANNEL_UNAVAILABLE']);
      const failedOrder = await waitForOrder(user, started.order.id, 'FAILED');
      assert.deepEqual([failedOrder.errorCode, failedOrder.transfers, failedOrder.entries], ['CHANNEL_UNAVAILABLE', [], []]);
      assert.equal((await walletIn(user, 'USD')).balance, '0.00');
    });

    // ---- retries that take over a dead request's Idempotency-Key ---------------------------------

    test('a retry that takes over the key of a request killed after its commit gets that request, not a second: card top-up, bank recharge, withdrawal', async () => {
      const user = await cardUser();
      await rechargeThroughBank(api, user, '500.00', CALLBACK);

      const topUpBody = { amount: '12.34', currency: 'USD', cardId: user.cardId };
      const topUp = await api.keyed<TopUp>(user, '/my/card-recharges', topUpBody, 'topup-1');
      assert.equal(topUp.status, 201, topUp.text);
      await killedAfterCommit(coffer.store.db, user, 'topup-1');
      const topUpAgain = await api.keyed<TopUp>(user, '/my/card-recharges', topUpBody, 'topup-1');
      assert.equal(topUpAgain.status, 201, topUpAgain.text);
      assert.deepEqual(
        [topUpAgain.body.order.id, topUpAgain.body.payment.payOrderNo, topUpAgain.body.payment.step],
        [topUp.body.order.id, topUp.body.payment.payOrderNo, 'SMS_SENT'],
      );
      const code = await channelCode(topUp.body.payment.payOrderNo, user.cardMobile);
      assert.equal((await confirm(user, topUp.body.payment.payOrderNo, code)).body.status, 'SUCCESS');
      await waitForOrder(user, topUp.body.order.id, 'SUCCEEDED');
      assert.equal((await walletIn(user, 'USD')).balance, '12.34');

      /** Asked, killed after its commit, asked again under the same key: the same signed request both times. */
      async function signedTwice(urlPath: string, body: unknown, key: string): Promise<{ reqData: string }> {
        const first = await api.keyed<{ reqData: string }>(user, urlPath, body, key);
        assert.equal(first.status, 201, first.text);
        await killedAfterCommit(coffer.store.db, user, key);
        const again = await api.keyed<{ reqData: string }>(user, urlPath, body, key);
        assert.equal(again.status, 201, again.text);
        assert.equal(again.body.reqData, first.body.reqData, `${urlPath}: the same signed request`);
        return first.body;
      }
      await signedTwice('/my/recharge-records', { amount: '40.00', callbackUrl: CALLBACK }, 'recharge-1');
      const withdrawBody = { amount: '100.00', callbackUrl: CALLBACK };
      const withdraw = await signedTwice('/my/withdraw-records', withdrawBody, 'withdraw-1');
      assert.equal((await api.wallet(user))!.available, '398.00', 'amount and fee held once');

      const mine = (await orders(user)).data;
      assert.deepEqual(mine.map((o) => o.type), ['WITHDRAW', 'RECHARGE_BANK', 'RECHARGE_CARD', 'RECHARGE_BANK'], 'one order per request');
      assert.equal((await api.my<{ data: unknown[] }>(user, 'GET', '/my/withdraw-records')).body.data.length, 1);

      // Long after, the key forgotten by the idempotency layer: it still names its order, never a new request's.
      const forget = () => sql`delete from idempotency_keys where scope = ${`user:${user.userId}`}`.execute(coffer.store.db);
      await forget();
      assertProblem(await api.keyed(user, '/my/withdraw-records', { ...withdrawBody, amount: '10.00' }, 'withdraw-1'), 422, 'IDEMPOTENCY_KEY_REUSED');
      await forget();
      assertProblem(await api.keyed(user, '/my/card-recharges', topUpBody, 'withdraw-1'), 422, 'IDEMPOTENCY_KEY_REUSED');
      await forget();
      assert.equal((await api.keyed(user, '/my/withdraw-records', withdrawBody, 'withdraw-1')).body.reqData, withdraw.reqData);
      assert.equal((await orders(user)).data.length, 4, 'nothing new');
    });

    test('opening an account: a retry that takes over the key of a request killed after its commit gets that account; an account older than the request stays a 409', async () => {
      const user = await openUserAccount(api, CALLBACK);
      const eur = { type: 'WALLET', currency: 'EUR' };
      const opened = await api.keyed<AccountView>(user, '/my/accounts', eur, 'eur-1');
      assert.equal(opened.status, 201, opened.text);
      await killedAfterCommit(coffer.store.db, user, 'eur-1');
      const again = await api.keyed<AccountView>(user, '/my/accounts', eur, 'eur-1');
      assert.equal(again.status, 201, again.text);
      assert.equal(again.body.accountNo, opened.body.accountNo, 'the account that request opened');

      const refused = await api.keyed(user, '/my/accounts', eur, 'eur-2');
      assertProblem(refused, 409, 'ACCOUNT_ALREADY_EXISTS');
      await killedAfterCommit(coffer.store.db, user, 'eur-2');
      assertProblem(await api.keyed(user, '/my/accounts', eur, 'eur-2'), 409, 'ACCOUNT_ALREADY_EXISTS');
      assert.equal((await api.my<AccountView[]>(user, 'GET', '/my/accounts?currency=EUR')).body.length, 1);
    });

    // ---- transaction orders of the other flows --------------------------------------------------

    test('bank recharge, withdraw and purchase each have one order that follows the request, with its entries; pages and filters', async () => {
      const user = await openUserAccount(api, CALLBACK);
      const recharge = await rechargeThroughBank(api, user, '500.00', CALLBACK);
      const requestNo = (JSON.parse(recharge.reqData) as { requestNo: string }).requestNo;
      const [rechargeOrder] = (await orders(user, '?type=RECHARGE_BANK')).data;
      assert.ok(rechargeOrder, 'the recharge has its order');
      assert.equal(rechargeOrder.serialNo, requestNo);
      const recharged = await waitForOrder(user, rechargeOrder.id, 'SUCCEEDED');
      assert.deepEqual(recharged.entries.map((e) => [e.direction, e.amount, e.balanceAfter]), [['CREDIT', '500.00', '500.00']]);

      const withdraw = await api.my(user, 'POST', '/my/withdraw-records', { amount: '100.00', callbackUrl: CALLBACK });
      assert.equal(withdraw.status, 201, withdraw.text);
      const [withdrawOrder] = (await orders(user, '?type=WITHDRAW')).data;
      assert.deepEqual([withdrawOrder?.status, withdrawOrder?.amount], ['PENDING', '100.00']);
      assert.equal((await api.notifyResult(withdraw.body, { status: 'SUCCESS' })).text, 'OK');
      const withdrawn = await waitForOrder(user, withdrawOrder!.id, 'SUCCEEDED');
      assert.deepEqual(withdrawn.entries.map((e) => [e.direction, e.amount]).sort(), [['DEBIT', '100.00'], ['DEBIT', '2.00']], 'amount and fee left the wallet');

      const refused = await api.my(user, 'POST', '/my/withdraw-records', { amount: '50.00', callbackUrl: CALLBACK });
      assert.equal(refused.status, 201, refused.text);
      assert.equal((await api.notifyResult(refused.body, { status: 'FAIL' })).text, 'OK');
      const [failedWithdraw] = (await orders(user, '?type=WITHDRAW')).data;
      assert.ok(failedWithdraw && failedWithdraw.id !== withdrawOrder!.id, 'the second withdrawal has its own order');
      const failed = await waitForOrder(user, failedWithdraw.id, 'FAILED');
      assert.deepEqual([failed.errorCode, failed.entries], ['CARD_DECLINED', []], 'the holds were voided: no entry');

      const product = await createProduct(api, { minAmount: '100.00', stepAmount: '100.00' });
      assert.equal((await subscribe(api, user, product.id, '100.00')).status, 201);
      assertProblem(await subscribe(api, user, product.id, '1000.00'), 409, 'INSUFFICIENT_FUNDS');
      const purchases = (await orders(user, '?type=PURCHASE')).data;
      assert.deepEqual(purchases.map((o) => [o.status, o.amount]), [['SUCCEEDED', '100.00']], 'a refused purchase leaves no order');
      const purchased = await order(user, purchases[0]!.id);
      assert.deepEqual(purchased.entries.map((e) => [e.direction, e.amount]).sort(), [['CREDIT', '100.00'], ['DEBIT', '100.00']], 'wallet -> holding, both mine');

      const first = await orders(user, '?limit=2');
      assert.equal(first.hasMore, true);
      const rest = await orders(user, `?limit=10&startingAfter=${first.data.at(-1)!.id}`);
      assert.deepEqual([...first.data, ...rest.data].map((o) => o.type), ['PURCHASE', 'WITHDRAW', 'WITHDRAW', 'RECHARGE_BANK']);
      assert.deepEqual((await orders(user, '?status=FAILED')).data.map((o) => o.id), [failedWithdraw.id]);
      assertProblem(await api.my(user, 'GET', '/my/orders?status=LOST'), 400, 'VALIDATION_FAILED');
      const stranger = await api.newUser();
      assertProblem(await api.my(stranger, 'GET', `/my/orders/${rechargeOrder.id}`), 404, 'ORDER_NOT_FOUND');
    });
  });
}

/**
 * The products, holdings and card payment pages through the HTTP stack on fake
 * products and payments ports (the modules have their own tests; the browser
 * suite runs the real ones): quotes, buying from the wallet or by card, each
 * step of the payment page (who sent the code, the fallback to direct debit,
 * the unknown outcome that looks again by itself), holdings' links.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { openTestStore } from '../../test/support/stores.ts';
import { loadConfig } from '../platform/config.ts';
import { DomainError } from '../platform/errors.ts';
import { buildHttpServer, type CofferApp } from '../platform/http/server.ts';
import { createLogger } from '../platform/log.ts';
import { createMetrics } from '../platform/metrics.ts';
import { CSRF_COOKIE, csrfToken, newCsrfSecret } from './csrf.ts';
import { webHttpModule } from './index.ts';
import type { UiHolding, UiPayment, UiProduct, WebPayments, WebProducts, WebUsers } from './ports.ts';

const product: UiProduct = {
  id: 'prd_1',
  code: 'SAVE90',
  name: 'Saver 90',
  currency: 'CNY',
  annualRate: '3.65',
  termDays: 90,
  minAmount: '100.00',
  stepAmount: '100.00',
  totalAmount: '100000.00',
  raisedAmount: '25000.00',
  remainingAmount: '75000.00',
  status: 'ON_SALE',
  dayCount: 'ACT/365',
  acceptorBank: 'ICBC',
  saleStart: null,
  saleEnd: null,
  onShelf: true,
  version: 1,
};

const holding = (status: string, extra: Partial<UiHolding> = {}): UiHolding => ({
  id: `sub_${status.toLowerCase()}`,
  productId: 'prd_1',
  productCode: 'SAVE90',
  productName: 'Saver 90',
  amount: '1000.00',
  currency: 'CNY',
  annualRate: '3.65',
  interest: '9.00',
  maturityAmount: '1009.00',
  valueDate: '2026-12-04',
  maturityDate: '2027-03-04',
  earnedToDate: '0.00',
  status,
  payWith: 'CARD',
  createdAt: '2026-12-03T10:00:00.000Z',
  ...extra,
});

describe('products, holdings and card payment pages (fake ports)', () => {
  const users: WebUsers = {
    async register() {},
    async login() {
      return { token: 'cs_token', expiresAt: new Date(Date.now() + 60_000) };
    },
    async logout() {},
    async userForSession(token) {
      return token === 'cs_token' ? { id: 'usr_1', mobile: '13700000000', status: 'ACTIVE' } : undefined;
    },
  };
  const subscribed: { order: unknown; key: string | undefined }[] = [];
  const products: WebProducts = {
    async list(_session, page, size) {
      return { data: [product], page, size, total: 1 };
    },
    async product(_session, idOrCode) {
      if (idOrCode !== 'SAVE90' && idOrCode !== 'prd_1') throw new DomainError('NOT_FOUND', 'No such product.');
      return product;
    },
    async quote(_session, _id, amount) {
      if (amount === '150.00') throw new DomainError('VALIDATION_FAILED', 'The amount must be a multiple of the step 100.00.');
      return { amount, interest: '9.00', valueDate: '2026-12-04', maturityDate: '2027-03-04', maturityAmount: '1009.00' };
    },
    async subscribe(_session, order, key) {
      if (order.amount === '999999.00') throw new DomainError('INSUFFICIENT_FUNDS', 'The wallet balance is too low.');
      subscribed.push({ order, key });
      return order.payWith === 'CARD' ? holding('AWAITING_PAYMENT', { payOrderNo: 'pay_1' }) : holding('PAID', { payWith: 'WALLET' });
    },
    async holdings() {
      return { data: [holding('AWAITING_PAYMENT', { payOrderNo: 'pay_1', expiresAt: '2026-12-03T10:15:00.000Z' }), holding('PAID')], hasMore: false };
    },
  };
  let payment: UiPayment;
  const sent: unknown[] = [];
  const payments: WebPayments = {
    async payment() {
      return payment;
    },
    async cards() {
      return [{ id: 'pcd_1', cardNumberMasked: '6222 **** **** 0001', bankCode: 'ICBC', holderName: 'Zhang San', mobileMasked: '137****0000' }];
    },
    async addCard() {
      return { id: 'pcd_2', cardNumberMasked: '6222 **** **** 0002', bankCode: 'ICBC', holderName: 'Zhang San', mobileMasked: '137****0000' };
    },
    async removeCard() {},
    async coupons() {
      return [
        { id: 'cpn_ok', amountOff: '5.00', minSpend: '100.00', currency: 'CNY', expiresAt: '2027-01-01T00:00:00Z', status: 'AVAILABLE' },
        { id: 'cpn_used', amountOff: '9.00', minSpend: '10.00', currency: 'CNY', expiresAt: '2027-01-01T00:00:00Z', status: 'USED', payOrderNo: 'pay_0' },
      ];
    },
    async sendSms(_session, payOrderNo, choice) {
      sent.push({ payOrderNo, ...choice });
      return payment;
    },
    async confirm(_session, _no, smsCode) {
      if (smsCode === 'expired') throw new DomainError('SMS_CODE_EXPIRED', 'expired');
      if (smsCode !== '123456') throw new DomainError('SMS_CODE_INVALID', 'wrong code');
      return payment;
    },
  };

  let app: CofferApp;
  let dispose: () => Promise<void>;
  const secret = newCsrfSecret();
  const headers = { cookie: `${CSRF_COOKIE}=${secret}; coffer_session=cs_token`, host: 'localhost', 'content-type': 'application/x-www-form-urlencoded' };
  const token = csrfToken(secret, 'cs_token');
  const get = (url: string) => app.inject({ method: 'GET', url, headers });
  const post = (url: string, form: Record<string, string>) => app.inject({ method: 'POST', url, headers, payload: new URLSearchParams({ _csrf: token, ...form }).toString() });

  before(async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    app = await buildHttpServer({
      config,
      store,
      logger: createLogger(config),
      metrics: createMetrics(),
      modules: [webHttpModule({ publicUrl: 'http://localhost', ports: { users, products, payments } })],
    });
    dispose = async () => {
      await app.close();
      await store.dispose();
    };
  });
  after(() => dispose?.());
  beforeEach(() => {
    payment = {
      payOrderNo: 'pay_1',
      businessType: 'SUBSCRIPTION',
      businessOrderNo: 'sub_1',
      description: 'Saver 90',
      amount: '1000.00',
      discount: '0.00',
      payable: '1000.00',
      currency: 'CNY',
      method: null,
      status: 'DOING',
      step: 'CREATED',
      smsSentBy: null,
      expiresAt: '2026-12-03T10:15:00.000Z',
    };
  });

  test('the list shows rate, term and progress; a quote has its own address; a bad amount is said in the quote box', async () => {
    const list = await get('/ui/products');
    assert.equal(list.statusCode, 200);
    assert.match(list.body, /href="\/ui\/products\/SAVE90">Saver 90</);
    assert.match(list.body, /3\.65%/);
    assert.match(list.body, /90 days/);
    assert.match(list.body, /<progress value="25000\.00" max="100000\.00"/);
    const quoted = await get('/ui/products/SAVE90?amount=1000.00');
    assert.match(quoted.body, /data-testid="quote-result"[\s\S]*9\.00[\s\S]*2026-12-04[\s\S]*2027-03-04[\s\S]*1009\.00/);
    const refused = await get('/ui/products/SAVE90?amount=150.00');
    assert.equal(refused.statusCode, 200);
    assert.match(refused.body, /multiple of the step 100\.00/);
    assert.equal((await get('/ui/products/NOPE')).statusCode, 404);
  });

  test('buying from the wallet lands in the holdings, by card on the payment page; a refusal keeps the form', async () => {
    const key = '0f4d7b52-1111-4c3e-9a61-3c0f2d4e5a6b';
    const wallet = await post('/ui/products/SAVE90/buy', { amount: '1000.00', payWith: 'WALLET', idempotencyKey: key });
    assert.equal(wallet.statusCode, 303);
    assert.equal(wallet.headers.location, '/ui/holdings?notice=subscribed');
    assert.deepEqual(subscribed.at(-1), { order: { productId: 'prd_1', amount: '1000.00', payWith: 'WALLET' }, key });
    const card = await post('/ui/products/SAVE90/buy', { amount: '1000.00', payWith: 'CARD' });
    assert.equal(card.headers.location, '/ui/payments/pay_1');
    const refused = await post('/ui/products/SAVE90/buy', { amount: '999999.00', payWith: 'CARD' });
    assert.equal(refused.statusCode, 409);
    assert.match(refused.body, /Your available balance is too low/);
    assert.match(refused.body, /name="amount"[^>]*value="999999\.00"/);
    assert.match(refused.body, /value="CARD" checked/);
  });

  test('the payment page: card and usable coupons, then Send code posts them', async () => {
    const page = await get('/ui/payments/pay_1');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /6222 \*\*\*\* \*\*\*\* 0001/);
    assert.match(page.body, /value="cpn_ok"/);
    assert.doesNotMatch(page.body, /cpn_used/, 'a used coupon is not offered');
    assert.doesNotMatch(page.body, /name="smsCode"/, 'no code box before a code was sent');
    const send = await post('/ui/payments/pay_1/sms', { cardId: 'pcd_1', couponId: 'cpn_ok' });
    assert.equal(send.statusCode, 303);
    assert.equal(send.headers.location, '/ui/payments/pay_1');
    assert.deepEqual(sent.at(-1), { payOrderNo: 'pay_1', cardId: 'pcd_1', couponId: 'cpn_ok' });
  });

  test('who sent the code is shown: the quick-pay channel, or Coffer after the fallback to direct debit', async () => {
    payment = { ...payment, step: 'SMS_SENT', method: 'QUICK_PAY', smsSentBy: 'CHANNEL', channel: 'QP_ALPHA', mobileMasked: '137****0000' };
    const quick = await get('/ui/payments/pay_1');
    assert.match(quick.body, /data-sent-by="CHANNEL">Code sent by the quick-pay channel QP_ALPHA to 137\*\*\*\*0000\./);
    assert.match(quick.body, /name="smsCode"/);
    payment = { ...payment, method: 'DIRECT_DEBIT', smsSentBy: 'COFFER', channel: undefined };
    const fallback = await get('/ui/payments/pay_1');
    assert.match(fallback.body, /data-sent-by="COFFER">Code sent by Coffer's own SMS to 137\*\*\*\*0000\. The quick-pay channels could not take this payment, so it falls back to direct debit\./);
    const wrong = await post('/ui/payments/pay_1/confirm', { smsCode: '000000' });
    assert.equal(wrong.statusCode, 422);
    assert.match(wrong.body, /That code is not right/);
    const expired = await post('/ui/payments/pay_1/confirm', { smsCode: 'expired' });
    assert.match(expired.body, /press &quot;Send a new code&quot;/);
  });

  test('an unknown outcome looks again by itself; SUCCESS and FAIL say so', async () => {
    payment = { ...payment, step: 'UNKNOWN_OUTCOME', method: 'QUICK_PAY', smsSentBy: 'CHANNEL', channel: 'QP_ALPHA' };
    const unknown = await get('/ui/payments/pay_1');
    assert.match(unknown.body, /hx-get="\/ui\/payments\/pay_1" hx-trigger="every 2s" hx-select="#main" hx-target="#main" hx-swap="outerHTML"/);
    assert.match(unknown.body, /asking it where the payment stands/);
    payment = { ...payment, status: 'SUCCESS', step: 'DONE' };
    const paid = await get('/ui/payments/pay_1');
    assert.match(paid.body, /data-status="SUCCESS"/);
    assert.match(paid.body, /href="\/ui\/holdings"/);
    assert.doesNotMatch(paid.body, /hx-trigger="every/);
    payment = { ...payment, status: 'FAIL', errorCode: 'CARD_DECLINED', errorMessage: 'The card was declined.' };
    const failed = await get('/ui/payments/pay_1');
    assert.match(failed.body, /data-status="FAIL"[\s\S]*The payment did not go through: The card was declined\. Nothing was taken\./);
  });

  test('holdings: an unpaid card order links to its payment, a paid one to its contract and PDF', async () => {
    const page = await get('/ui/holdings');
    assert.match(page.body, /data-holding="sub_awaiting_payment"[\s\S]*href="\/ui\/payments\/pay_1">Pay</);
    assert.match(page.body, /href="\/my\/subscriptions\/sub_paid\/contract" hx-boost="false"/);
    assert.match(page.body, /href="\/my\/subscriptions\/sub_paid\/contract\.pdf" hx-boost="false" download/);
  });

  test('adding a payment card from the payment page goes back there; any other back address goes to the list', async () => {
    const back = await post('/ui/payment-cards', { cardNumber: '6222 0000 0000 0002', holderName: 'Zhang San', mobile: '13700000000', bankCode: 'ICBC', back: '/ui/payments/pay_1' });
    assert.equal(back.headers.location, '/ui/payments/pay_1');
    const elsewhere = await post('/ui/payment-cards', { cardNumber: '6222000000000002', holderName: 'Zhang San', mobile: '13700000000', bankCode: 'ICBC', back: 'https://evil.example/' });
    assert.equal(elsewhere.headers.location, '/ui/payment-cards?notice=payment-card-added');
  });
});

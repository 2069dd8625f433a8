/**
 * Savings products bought by card in a real headless Chromium, against a real
 * Coffer server and the bank simulator as its own process (its depository
 * pages and its payment channels QP_ALPHA, QP_BETA, DD_GAMMA):
 *  - an admin creates a product in the console and puts it on shelf;
 *  - a person with an opened depository account finds it, quotes an amount,
 *    buys by card with a coupon the admin issued: adds a payment card, "Send code" (the quick-pay channel
 *    texts it: read from the simulator's channel SMS sink), confirms, and sees
 *    the order PAID in the holdings with its contract;
 *  - with both quick-pay channels DOWN the same purchase falls back to direct
 *    debit, visibly: the page says Coffer sent the code (read from Coffer's own
 *    SMS sink), the payment succeeds through DD_GAMMA, and the console's
 *    routing decisions show why the quick-pay channels were passed over;
 *  - a channel that times out leaves the outcome unknown: the payment page
 *    looks again by itself (htmx polling) until the query says SUCCESS;
 *  - the admin moves the test clock past maturity in the console: the holding
 *    is SETTLED and the wallet holds principal and interest, which buy the
 *    product again, from the wallet this time.
 * Screenshots of each step land in test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  browserSuiteSkip,
  eventuallyOn,
  FAST_USERS,
  logIn,
  newMobile,
  newPage,
  openDepositoryAccount,
  register,
  screenshot,
  startBankRig,
  type BankRig,
  submitForm,
  type BankChild,
} from './support.ts';

const skip = browserSuiteSkip();
const PLATFORM_NO = 'coffer-browser-products';
const ADMIN_TOKEN = 'browser-products-admin-token-5e21';
const ADMIN = { username: 'product-admin', password: 'operator-pass-123' };
const PRODUCT = { code: `SAVE${Date.now() % 100_000}`, name: 'Browser Saver 90' };

/** A card number with a valid Luhn check digit (the payments module checks it). */
function luhnCardNumber(): string {
  const body = `622202${String(Date.now()).slice(-8)}${Math.floor(Math.random() * 100)
    .toString()
    .padStart(2, '0')}`.slice(0, 15);
  let sum = 0;
  for (let i = 0; i < body.length; i += 1) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

describe('savings products bought by card in a browser', { skip }, () => {
  let rig: BankRig;
  let bank: BankChild;
  let browser: Browser;
  let base: string;
  /** The person who bought with quick pay: their holding matures in the last test. */
  let buyer: string;

  async function call(url: string, method = 'GET', body?: unknown): Promise<unknown> {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    assert.ok(response.status < 300, `${method} ${url}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** The newest code a channel texted to `mobile` (the simulator's channel SMS sink). */
  async function channelCode(mobile: string): Promise<{ channelCode: string; code: string }> {
    const sent = (await call(`${bank.url}/sandbox/channel-sms?mobile=${mobile}`)) as { channelCode: string; code: string }[];
    assert.ok(sent.length > 0, `a channel texted ${mobile}`);
    return sent[0]!;
  }

  /** The newest code Coffer's own SMS module texted to `mobile` (its sandbox sink). */
  async function cofferCode(mobile: string): Promise<string> {
    const sink = (await call(`${base}/admin/sms/messages?limit=200`)) as { data: { mobile: string; text: string }[] };
    const text = sink.data.find((m) => m.mobile === mobile)?.text ?? '';
    const code = /\b(\d{6})\b/.exec(text)?.[1];
    assert.ok(code, `Coffer texted ${mobile} a code: ${text}`);
    return code;
  }

  before(async () => {
    rig = await startBankRig({
      platformNo: PLATFORM_NO,
      bankEnv: { ADMIN_TOKEN },
      cofferEnv: {
        ADMIN_TOKEN,
        PRODUCT_JOB_INTERVAL_MS: '200',
        // A channel that holds its answer is given up on after 1 s; the payment is then queried every 1.5 s.
        PAYMENT_CHANNEL_TIMEOUT_MS: '1000',
        PAYMENT_QUERY_RETRY_MS: '1500',
        PAYMENT_JOB_INTERVAL_MS: '200',
      },
      options: { ...FAST_USERS, operators: { scrypt: { ln: 10, r: 8, p: 1 } } },
    });
    ({ bank, browser, base } = rig);
    await call(`${base}/admin/operators`, 'POST', { ...ADMIN, role: 'admin' });
  });

  after(async () => {
    await rig?.stop();
  });

  async function adminLogIn(page: Page): Promise<void> {
    await page.goto('/ui/operator/login');
    await submitForm(page, ADMIN, 'Log in as operator');
    await page.getByTestId('current-operator').waitFor();
  }

  /** A new person with an opened depository account, logged in; returns their mobile. */
  async function personWithAccount(page: Page): Promise<string> {
    const mobile = newMobile();
    await register(page, mobile);
    await logIn(page, mobile);
    await openDepositoryAccount(page, base, mobile);
    return mobile;
  }

  /** From the products list to the payment page of a 1000.00 card order, with a quote on the way. */
  async function buyByCard(page: Page, shots: string | undefined): Promise<string> {
    await page.goto('/ui/products');
    await page.getByRole('link', { name: PRODUCT.name }).click();
    await page.waitForURL(`**/ui/products/${PRODUCT.code}`);
    await page.getByTestId('quote').locator('input[name="amount"]').fill('1000.00');
    await page.getByRole('button', { name: 'Quote' }).click();
    const quote = page.getByTestId('quote-result');
    await quote.waitFor();
    // 1000.00 x 3.65% x 90 / 365 = 9.00, and 1009.00 at maturity.
    assert.match(await quote.innerText(), /9\.00 CNY[\s\S]*1009\.00 CNY/);
    if (shots) await screenshot(page, `${shots}-product-quote`);
    const buy = page.getByTestId('buy');
    await buy.locator('input[name="amount"]').fill('1000.00');
    await buy.locator('input[value="CARD"]').check();
    await buy.getByRole('button', { name: 'Buy' }).click();
    await page.waitForURL('**/ui/payments/pay_*');
    return new URL(page.url()).pathname.split('/').at(-1)!;
  }

  /** Adds a payment card on the payment page (the first time), then asks for the code (with the first coupon offered, if asked). */
  async function sendCode(page: Page, mobile: string, shots: string | undefined, withCoupon = false): Promise<void> {
    const cardNumber = page.locator('input[name="cardNumber"]');
    if (await page.getByTestId('payment-cards').count() === 0) {
      await cardNumber.fill(luhnCardNumber());
      await page.locator('input[name="holderName"]').fill('Zhang San');
      await page.locator('input[name="mobile"]').fill(mobile);
      await page.getByRole('button', { name: 'Add card' }).click();
      await page.getByTestId('payment-cards').waitFor();
    }
    if (withCoupon) await page.locator('select[name="couponId"]').selectOption({ index: 1 });
    if (shots) await screenshot(page, `${shots}-payment-choose-card`);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByTestId('sms-sent-by').waitFor();
  }

  async function confirmAndSucceed(page: Page, code: string): Promise<void> {
    await page.locator('input[name="smsCode"]').fill(code);
    await page.getByRole('button', { name: 'Confirm payment' }).click();
    // Processing pages look again by themselves until the outcome is known.
    const outcome = page.getByTestId('payment-outcome');
    await outcome.waitFor({ timeout: 30_000 });
    assert.equal(await outcome.getAttribute('data-status'), 'SUCCESS', await outcome.innerText());
  }

  test('an admin creates a product in the console and puts it on shelf', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await adminLogIn(page);
      await page.getByRole('link', { name: 'Products' }).click();
      await page.waitForURL('**/ui/admin/products');
      await submitForm(
        page,
        { code: PRODUCT.code, name: PRODUCT.name, currency: 'CNY', annualRate: '3.65', termDays: '90', minAmount: '100.00', stepAmount: '100.00', totalAmount: '100000.00', acceptorBank: 'ICBC' },
        'Create product',
      );
      await page.waitForURL('**/ui/admin/products/prd_*?notice=product-created');
      await screenshot(page, '60-admin-product-created');
      await page.getByRole('button', { name: 'Put on shelf' }).click();
      await page.waitForURL('**/ui/admin/products?notice=product-shelved');
      const row = page.locator(`tr[data-product="${PRODUCT.code}"]`);
      assert.match(await row.innerText(), /on shelf/);
      await screenshot(page, '61-admin-products');

      await page.getByRole('link', { name: 'Channels' }).click();
      await page.waitForURL('**/ui/admin/channels');
      const channels = await page.getByTestId('channels').innerText();
      for (const code of ['QP_ALPHA', 'QP_BETA', 'DD_GAMMA']) assert.match(channels, new RegExp(code));
      assert.match(channels, /CLOSED/);
      await screenshot(page, '62-admin-channels');

      // A channel edit carries the version shown: one saved meanwhile (here through the API) is a message, not overwritten.
      await page.getByRole('link', { name: 'QP_BETA' }).click();
      await page.waitForURL('**/ui/admin/channels/QP_BETA');
      const shown = (await call(`${base}/admin/channels`)) as { code: string; version: number; weight: number }[];
      const beta = shown.find((c) => c.code === 'QP_BETA')!;
      await call(`${base}/admin/channels/QP_BETA`, 'PUT', { weight: beta.weight + 5, version: beta.version });
      await page.locator('input[name="weight"]').fill('40');
      await page.getByRole('button', { name: 'Save channel' }).click();
      await page.getByTestId('flash-error').waitFor();
      await screenshot(page, '62b-admin-channel-stale-edit');
      await page.goto('/ui/admin/channels/QP_BETA');
      await page.locator('input[name="weight"]').fill('40');
      await page.getByRole('button', { name: 'Save channel' }).click();
      await page.waitForURL('**/ui/admin/channels?notice=channel-saved');
      assert.match(await page.locator('tr[data-channel="QP_BETA"]').innerText(), /10 \/ 40/);
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('a person buys the product by card with quick pay and sees it in the holdings', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = await personWithAccount(page);
      buyer = mobile;

      // The admin issues them a coupon in the console (by user id); it shows on their Coupons page.
      const users = (await call(`${base}/admin/users?mobile=${mobile}`)) as { data: { userId: string }[] };
      await adminLogIn(page);
      await page.goto('/ui/admin/coupons');
      const issue = page.getByTestId('issue-coupon');
      await issue.locator('input[name="userId"]').fill(users.data[0]!.userId);
      await issue.locator('input[name="amountOff"]').fill('5.00');
      await issue.locator('input[name="minSpend"]').fill('100.00');
      await issue.getByRole('button', { name: 'Issue coupon' }).click();
      await page.waitForURL('**/ui/admin/coupons?**notice=coupon-issued');
      assert.match(await page.getByTestId('admin-coupons').innerText(), /5\.00 CNY[\s\S]*AVAILABLE/);
      await page.goto('/ui/coupons');
      assert.match(await page.getByTestId('coupons').innerText(), /5\.00 CNY\s+100\.00[\s\S]*AVAILABLE/);

      await page.goto('/ui/products');
      assert.match(await page.locator(`tr[data-product="${PRODUCT.code}"]`).innerText(), /3\.65%[\s\S]*90 days/);
      await screenshot(page, '63-products');
      const payOrderNo = await buyByCard(page, '64');
      await sendCode(page, mobile, '65', true);
      assert.equal(await page.getByTestId('sms-sent-by').getAttribute('data-sent-by'), 'CHANNEL');
      assert.match(await page.getByTestId('payment-summary').innerText(), /Coupon\s+−5\.00[\s\S]*To pay\s+995\.00 CNY/);
      const texted = await channelCode(mobile);
      assert.match(await page.getByTestId('sms-sent-by').innerText(), new RegExp(`quick-pay channel ${texted.channelCode}`));
      await screenshot(page, '66-payment-code-by-channel');
      await confirmAndSucceed(page, texted.code);
      await screenshot(page, '67-payment-success');
      await page.goto('/ui/coupons');
      assert.match(await page.getByTestId('coupons').innerText(), new RegExp(`USED\\s+${payOrderNo}`));
      await page.goto('/ui/payment-cards');
      assert.match(await page.getByTestId('payment-card-list').innerText(), /ICBC\s+Zhang San/);
      await screenshot(page, '67b-payment-cards');

      await eventuallyOn(page, '/ui/holdings', async () => /PAID|VALUE/.test(await page.getByTestId('holdings').innerText()), 'the order to be paid');
      const holding = page.getByTestId('holdings').locator('tbody tr').first();
      assert.match(await holding.innerText(), new RegExp(`${PRODUCT.name}[\\s\\S]*1000\\.00 CNY[\\s\\S]*9\\.00`));
      await screenshot(page, '68-holdings');
      await holding.getByRole('link', { name: 'Contract' }).click();
      await page.waitForURL('**/my/subscriptions/sub_*/contract');
      assert.match(await page.locator('body').innerText(), new RegExp(PRODUCT.name));
      await screenshot(page, '69-contract');
      const pdf = await page.request.get(`${page.url()}.pdf`);
      assert.equal(pdf.status(), 200);
      assert.match(pdf.headers()['content-type'] ?? '', /application\/pdf/);
      assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
      assert.ok(payOrderNo.startsWith('pay_'));
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('with the quick-pay channels down, the payment visibly falls back to direct debit with Coffer\'s own code', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = await personWithAccount(page);
      for (const code of ['QP_ALPHA', 'QP_BETA']) await call(`${bank.url}/sandbox/channels/${code}`, 'POST', { mode: 'DOWN' });
      const payOrderNo = await buyByCard(page, undefined);
      await sendCode(page, mobile, undefined);
      const sentBy = page.getByTestId('sms-sent-by');
      assert.equal(await sentBy.getAttribute('data-sent-by'), 'COFFER');
      assert.match(await sentBy.innerText(), /Code sent by Coffer's own SMS[\s\S]*falls back to direct debit/);
      await screenshot(page, '70-payment-fallback-code-by-coffer');
      await confirmAndSucceed(page, await cofferCode(mobile));
      assert.match(await page.getByTestId('payment-summary').innerText(), /direct debit/);
      await screenshot(page, '71-payment-fallback-success');
      await eventuallyOn(page, '/ui/holdings', async () => /PAID|VALUE/.test(await page.getByTestId('holdings').innerText()), 'the order to be paid');

      // The console shows why: the quick-pay channels were out (or failed), the debit went to DD_GAMMA.
      await adminLogIn(page);
      await page.goto(`/ui/admin/routing?payOrderNo=${payOrderNo}`);
      const decisions = await page.getByTestId('routing-decisions').innerText();
      assert.match(decisions, /QUICK_PAY/);
      assert.match(decisions, /DIRECT_DEBIT/);
      assert.match(decisions, /DD_GAMMA/);
      await screenshot(page, '72-admin-routing-decisions');
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await call(`${bank.url}/sandbox/channels/reset`, 'POST', {});
      await context.close();
    }
  });

  test('when the channel times out the outcome is unknown: the page looks again by itself until the query says SUCCESS', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = await personWithAccount(page);
      for (const code of ['QP_ALPHA', 'QP_BETA']) await call(`${bank.url}/sandbox/channels/${code}`, 'POST', { mode: 'TIMEOUT' });
      await buyByCard(page, undefined);
      await sendCode(page, mobile, undefined);
      const paymentUrl = page.url();
      await page.locator('input[name="smsCode"]').fill((await channelCode(mobile)).code);
      await page.getByRole('button', { name: 'Confirm payment' }).click();
      await page.getByTestId('payment-processing').waitFor();
      assert.match(await page.getByTestId('payment-processing').innerText(), /asking it where the payment stands/);
      await screenshot(page, '72b-payment-unknown-outcome');
      // No reload by the test: htmx swaps in the page as it is now, every 2 s, until it is final.
      const outcome = page.getByTestId('payment-outcome');
      await outcome.waitFor({ timeout: 30_000 });
      assert.equal(await outcome.getAttribute('data-status'), 'SUCCESS', await outcome.innerText());
      assert.equal(page.url(), paymentUrl);
      await screenshot(page, '72c-payment-unknown-then-success');
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await call(`${bank.url}/sandbox/channels/reset`, 'POST', {});
      await context.close();
    }
  });

  test('the admin moves the test clock past maturity: the holding is settled, and principal and interest buy again from the wallet', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await adminLogIn(page);
      await page.getByRole('link', { name: 'Test clock' }).click();
      await page.waitForURL('**/ui/admin/clock');
      const before = Date.parse((await page.getByTestId('business-time').locator('time').getAttribute('datetime'))!);
      await page.locator('input[name="days"]').fill('92');
      await page.getByRole('button', { name: 'Advance the clock' }).click();
      // Sessions follow business time too: 92 days later the operator logs in again, and is sent back to the clock.
      await page.waitForURL('**/ui/operator/login**');
      await submitForm(page, ADMIN, 'Log in as operator');
      await page.waitForURL('**/ui/admin/clock');
      const after = Date.parse((await page.getByTestId('business-time').locator('time').getAttribute('datetime'))!);
      assert.ok(after - before >= 92 * 86_400_000, `the clock moved 92 days: ${new Date(before).toISOString()} -> ${new Date(after).toISOString()}`);
      await screenshot(page, '73-admin-test-clock');

      await logIn(page, buyer);
      await eventuallyOn(page, '/ui/holdings', async () => /SETTLED/.test(await page.getByTestId('holdings').innerText()), 'the holding to be settled');
      await screenshot(page, '74-holdings-settled');
      await page.goto('/ui/wallet');
      assert.match(await page.getByTestId('wallets').locator('tbody tr').innerText(), /CNY\s+1009\.00\s+1009\.00/);
      await screenshot(page, '75-wallet-after-maturity');

      // The proceeds buy again, this time from the wallet: PAID at once.
      await page.goto(`/ui/products/${PRODUCT.code}`);
      const buy = page.getByTestId('buy');
      await buy.locator('input[name="amount"]').fill('1000.00');
      await buy.getByRole('button', { name: 'Buy' }).click();
      await page.waitForURL('**/ui/holdings?notice=subscribed');
      assert.match(await page.getByTestId('holdings').locator('tbody tr').first().innerText(), /1000\.00 CNY[\s\S]*PAID/);
      await screenshot(page, '76-holdings-bought-from-wallet');
      await page.goto('/ui/wallet');
      assert.match(await page.getByTestId('wallets').locator('tbody tr').innerText(), /CNY\s+9\.00\s+9\.00/);
      watch.assertClean();
    } finally {
      await context.close();
    }
  });
});

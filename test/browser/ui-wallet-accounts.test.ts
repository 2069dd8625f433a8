/**
 * Issue 7's "done when", in a real headless Chromium against a real Coffer and
 * the bank simulator as its own process: a person with an opened depository
 * account (CNY wallet) opens a USD wallet beside it, switches to it, tops it up
 * by card (adds a payment card, the quick-pay channel texts the code: read from
 * the simulator's channel SMS sink), confirms, and sees the top-up order
 * SUCCEEDED with its ledger entry, and the USD balance. Screenshots land in
 * test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { cardEnding } from '../payments/support.ts';
import {
  browserSuiteSkip,
  logIn,
  newMobile,
  newPage,
  openDepositoryAccount,
  register,
  screenshot,
  startBankRig,
  type BankRig,
  eventuallyOn,
} from './support.ts';

const skip = browserSuiteSkip();
const PLATFORM_NO = 'coffer-browser-accounts';
const ADMIN_TOKEN = 'browser-accounts-admin-token-7a13';

describe('wallet accounts by currency and a card top-up in a browser', { skip }, () => {
  let rig: BankRig;
  let browser: Browser;
  let base: string;

  before(async () => {
    rig = await startBankRig({
      platformNo: PLATFORM_NO,
      bankEnv: { ADMIN_TOKEN },
      cofferEnv: { ADMIN_TOKEN, PAYMENT_JOB_INTERVAL_MS: '200' },
    });
    ({ browser, base } = rig);
  });

  after(async () => {
    await rig?.stop();
  });

  test('a person opens a USD wallet beside the CNY one, tops it up by card with the SMS code, and sees the order and its entry', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await logIn(page, mobile);
      await openDepositoryAccount(page, base, mobile);
      assert.deepEqual(await page.locator('[data-testid="wallets"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-currency'))), ['CNY']);
      assert.equal(await page.getByTestId('top-up').count(), 0, 'the CNY wallet (held at the depository bank) is recharged through the bank, not by card');
      await page.goto('/ui/card-recharge');
      assert.match(await page.getByTestId('no-card-top-ups').innerText(), /CNY is held at the depository bank/);
      await page.goto('/ui/wallet');

      // Open a USD wallet: it shows beside the CNY one and becomes the selected wallet.
      await page.locator('select[name="currency"]').selectOption('USD');
      await page.getByTestId('open-wallet').click();
      await page.waitForURL('**/ui/wallet?currency=USD');
      const usdRow = page.locator('tr[data-currency="USD"]');
      assert.match(await usdRow.innerText(), /^\d{18}\s+USD\s+0\.00/);
      assert.equal(await page.locator('[data-testid="wallets"] tbody tr').count(), 2);
      assert.match(await page.getByTestId('top-up').innerText(), /Top up USD by card/);
      assert.equal(await page.locator('select[name="currency"] option[value="USD"]').count(), 0, 'USD is no longer offered to open');
      await screenshot(page, '80-wallet-usd-opened');

      // A payment card to top up with (the payment core's cards), then the top-up form.
      await page.goto('/ui/payment-cards');
      await page.locator('input[name="cardNumber"]').fill(cardEnding('4242'));
      await page.locator('input[name="holderName"]').fill('Zhang San');
      await page.locator('input[name="mobile"]').fill(mobile);
      await page.getByRole('button', { name: 'Add card' }).click();
      await page.getByTestId('payment-card-list').waitFor();
      await page.goto('/ui/wallet?currency=USD');
      await page.getByTestId('top-up').click();
      await page.waitForURL('**/ui/card-recharge?currency=USD');
      assert.equal(await page.locator('select[name="currency"]').inputValue(), 'USD');
      assert.deepEqual(await page.locator('select[name="currency"] option').evaluateAll((options) => options.map((o) => o.getAttribute('value'))), ['USD'], 'only wallets cards top up');
      await page.locator('input[name="amount"]').fill('88.50');
      await screenshot(page, '81-card-top-up');
      await page.getByRole('button', { name: 'Top up and send the SMS code' }).click();

      // The payment page: the channel texted the code; type it and confirm.
      await page.waitForURL('**/ui/payments/pay_*');
      assert.equal(await page.getByTestId('sms-sent-by').getAttribute('data-sent-by'), 'CHANNEL');
      assert.match(await page.getByTestId('payment-summary').innerText(), /88\.50 USD/);
      const inbox = await fetch(`${rig.bank.url}/sandbox/channel-sms?mobile=${mobile}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(inbox.status, 200, await inbox.clone().text());
      const texted = (await inbox.json()) as { code: string }[];
      assert.ok(texted[0], 'the channel texted a code');
      await page.locator('input[name="smsCode"]').fill(texted[0].code);
      await page.getByRole('button', { name: 'Confirm payment' }).click();
      const outcome = page.getByTestId('payment-outcome');
      await outcome.waitFor({ timeout: 30_000 });
      assert.equal(await outcome.getAttribute('data-status'), 'SUCCESS', await outcome.innerText());
      await screenshot(page, '82-card-top-up-paid');

      // The order, SUCCEEDED once payment.final arrives, with the credit on the USD wallet.
      await page.getByRole('link', { name: 'See your top-up order' }).click();
      await page.waitForURL('**/ui/orders/ord_*');
      const orderPath = new URL(page.url()).pathname;
      await eventuallyOn(page, orderPath, async () => (await page.getByTestId('order-summary').getAttribute('data-status')) === 'SUCCEEDED', 'the order SUCCEEDED');
      assert.match(await page.getByTestId('order-summary').innerText(), /Top-up \(card\)[\s\S]*88\.50 USD[\s\S]*SUCCEEDED/);
      assert.match(await page.getByTestId('entries').innerText(), /recharge\s+\+88\.50 USD\s+88\.50/);
      await screenshot(page, '83-order-detail');

      await page.getByRole('link', { name: 'Orders', exact: true }).first().click();
      await page.waitForURL('**/ui/orders');
      assert.match(await page.getByTestId('orders').innerText(), /Top-up \(card\)\s+88\.50 USD\s+SUCCEEDED/);
      await page.goto('/ui/orders?status=FAILED');
      assert.match(await page.locator('#main').innerText(), /No orders yet/);
      await page.goto('/ui/wallet?currency=USD');
      assert.match(await page.locator('tr[data-currency="USD"]').innerText(), /USD\s+88\.50/);
      assert.match(await page.locator('tr[data-currency="CNY"]').innerText(), /CNY\s+0\.00/);
      await screenshot(page, '84-wallet-usd-topped-up');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });
});

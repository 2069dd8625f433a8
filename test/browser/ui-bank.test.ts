/**
 * The whole depository round trip in a browser (SPEC 3, 4): Coffer and the bank
 * depository simulator (a child process) on one DATA_DIR, as `npm start` runs
 * them. The person opens a depository account, recharges and withdraws: each
 * time Coffer's page hands the browser a signed form for the bank, the bank's
 * hosted page takes the details and password, and the browser comes back to a
 * /ui/ page that shows the outcome once the bank's notification has landed.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { loadPublicKey, verifyText, type PlatformRequestData } from '../../src/protocol/depository.ts';
import {
  backFromBank,
  browserSuiteSkip,
  eventuallyOn,
  logIn,
  newMobile,
  newPage,
  register,
  screenshot,
  startBankRig,
  type BankRig,
  submitForm,
  TRANSACTION_PASSWORD,
  type BankChild,
} from './support.ts';

const skip = browserSuiteSkip();
const PLATFORM_NO = 'coffer-browser';

interface BankForm {
  action: string;
  fields: Record<string, string>;
  data: PlatformRequestData;
}

/** The signed form Coffer's page hands the browser for the bank. */
async function bankFormOn(page: Page): Promise<BankForm> {
  const form = page.getByTestId('bank-form');
  await form.waitFor();
  const action = (await form.getAttribute('action')) ?? '';
  const fields: Record<string, string> = {};
  for (const input of await form.locator('input').all()) {
    assert.equal(await input.getAttribute('type'), 'hidden');
    fields[(await input.getAttribute('name')) ?? ''] = await input.inputValue();
  }
  assert.deepEqual(Object.keys(fields).sort(), ['platformNo', 'reqData', 'serviceName', 'signature']);
  return { action, fields, data: JSON.parse(fields.reqData!) as PlatformRequestData };
}

describe('wallet UI with the bank depository simulator', { skip }, () => {
  let rig: BankRig;
  let dataDir: string;
  let bank: BankChild;
  let browser: Browser;
  let base: string;

  before(async () => {
    rig = await startBankRig({ platformNo: PLATFORM_NO, cofferEnv: { DEPOSITORY_QUERY_AFTER_S: '2', DEPOSITORY_QUERY_INTERVAL_MS: '250' } });
    ({ dataDir, bank, browser, base } = rig);
  });

  after(async () => {
    await rig?.stop(); // Coffer's close removes dataDir, the bank's folder included
  });

  test('recharging before opening a depository account says to open one first', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await logIn(page, mobile);
      await page.goto('/ui/recharge');
      await submitForm(page, { amount: '10.00' }, 'Recharge');
      const flash = page.getByTestId('flash-error');
      await flash.waitFor();
      assert.match(await flash.innerText(), /Open your depository account first/);
      assert.equal(await page.getByRole('link', { name: 'Open your depository account' }).getAttribute('href'), '/ui/wallet');
      await screenshot(page, '20-recharge-account-not-opened');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  /** Registers and logs in a new person; returns their mobile. */
  async function newUser(page: Page): Promise<string> {
    const mobile = newMobile();
    await register(page, mobile);
    await logIn(page, mobile);
    return mobile;
  }

  /** Opens the depository account through Coffer's page and the bank's; returns the bound card number. */
  async function openAccount(page: Page, mobile: string, shots: boolean): Promise<string> {
    await page.getByTestId('open-account').waitFor();
    if (shots) await screenshot(page, '21-wallet-open-prompt');

    // Coffer's page: a signed PERSONAL_REGISTER for the bank, and a CSP that lets the form go there.
    const [openResponse] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/ui/wallet/open`),
      page.getByRole('button', { name: 'Open depository account' }).click(),
    ]);
    assert.match(openResponse.headers()['content-security-policy'] ?? '', new RegExp(`form-action 'self' ${new URL(bank.url).origin}(;|$)`));
    const opening = await bankFormOn(page);
    assert.equal(opening.action, `${bank.url}/gateway`);
    assert.equal(opening.fields.serviceName, 'PERSONAL_REGISTER');
    assert.equal(opening.fields.platformNo, PLATFORM_NO);
    assert.equal(opening.data.callbackUrl, `${base}/ui/wallet?notice=bank-returned`);
    assert.equal(opening.data.mobile, mobile);
    const platformKey = loadPublicKey(path.join(dataDir, 'keys', 'platform-public.pem'));
    assert.ok(verifyText(opening.fields.reqData!, opening.fields.signature!, platformKey), 'signed with the platform key');
    if (shots) await screenshot(page, '22-bank-form-open-account');

    // The bank's hosted page (the contract's input names), then back to the wallet.
    await page.getByRole('button', { name: 'Continue to your bank' }).click();
    await page.waitForURL(`${bank.url}/**`);
    const card = `6222${String(Date.now()).slice(-8)}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
    if (shots) await screenshot(page, '23-bank-open-account');
    await submitForm(
      page,
      {
        realName: 'Zhang San',
        idNumber: '11010119900307123X',
        cardNumber: card,
        bankCode: 'ICBC',
        mobile,
        password: TRANSACTION_PASSWORD,
        passwordConfirm: TRANSACTION_PASSWORD,
      },
      'Open account',
    );
    await backFromBank(page, base);
    assert.equal(new URL(page.url()).pathname, '/ui/wallet');
    await eventuallyOn(page, '/ui/wallet', () => page.getByTestId('wallets').isVisible(), 'the opened wallet');
    return card;
  }

  /** Recharges through Coffer's form and the bank's password page; waits for the record to succeed. */
  async function recharge(page: Page, amount: string, shots: boolean): Promise<void> {
    await page.goto('/ui/recharge');
    await submitForm(page, { amount }, 'Recharge');
    const form = await bankFormOn(page);
    assert.equal(form.fields.serviceName, 'RECHARGE');
    assert.equal(form.data.amount, amount);
    assert.equal(form.data.callbackUrl, `${base}/ui/records?notice=bank-returned`);
    if (shots) await screenshot(page, '26-bank-form-recharge');
    await page.getByRole('button', { name: 'Continue to your bank' }).click();
    await page.waitForURL(`${bank.url}/**`);
    await submitForm(page, { password: TRANSACTION_PASSWORD }, 'Pay');
    await backFromBank(page, base);
    assert.equal(new URL(page.url()).pathname, '/ui/records');
    assert.match(await page.getByTestId('flash-notice').innerText(), /Welcome back from your bank/);
    await eventuallyOn(
      page,
      '/ui/records',
      async () => /SUCCEEDED/.test(await page.getByTestId('recharge-records').innerText()),
      'the recharge to succeed',
    );
    assert.match(await page.getByTestId('recharge-records').innerText(), new RegExp(`${form.data.requestNo}[\\s\\S]*${amount.replace('.', '\\.')}`));
  }

  const walletRow = (page: Page) => page.getByTestId('wallets').locator('tbody tr');

  test('open an account at the bank and recharge, all through the pages', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = await newUser(page);
      const card = await openAccount(page, mobile, true);
      assert.equal(await walletRow(page).count(), 1);
      assert.match(await walletRow(page).innerText(), /CNY\s+0\.00\s+0\.00\s+0\.00\s+ACTIVE/);
      await screenshot(page, '24-wallet-opened');
      await page.goto('/ui/cards');
      const cards = await page.getByTestId('cards').innerText();
      assert.match(cards, new RegExp(card.slice(-4)));
      assert.doesNotMatch(cards, new RegExp(card), 'the card number is masked');
      await screenshot(page, '25-cards');

      await recharge(page, '100.00', true);
      await screenshot(page, '27-records-recharged');
      await page.goto('/ui/wallet');
      assert.match(await walletRow(page).innerText(), /CNY\s+100\.00\s+100\.00\s+0\.00/);
      await page.goto('/ui/bill');
      assert.match(await page.getByTestId('entries').innerText(), /\+100\.00/);
      await screenshot(page, '28-bill');

      // Coffer's own pages stayed inside their CSP (the bank's pages have their own).
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('withdraw to the bound card: amount and fee are held at once, then settled by the bank', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = await newUser(page);
      await openAccount(page, mobile, false);
      await recharge(page, '100.00', false);

      await page.goto('/ui/withdraw');
      await submitForm(page, { amount: '10.00' }, 'Withdraw');
      const withdraw = await bankFormOn(page);
      assert.equal(withdraw.fields.serviceName, 'WITHDRAW');
      // How amount and fee travel on the wire is the depository protocol's business; the fee is named.
      assert.equal(withdraw.data.fee, '2.00');
      assert.equal(await page.getByTestId('gateway-summary').innerText(), 'Withdraw: 10.00 CNY');
      await screenshot(page, '30-bank-form-withdraw');

      const other = await context.newPage();
      await other.goto('/ui/wallet');
      assert.match(await walletRow(other).innerText(), /100\.00\s+88\.00\s+12\.00/, 'amount and fee are held');
      await other.close();

      await page.getByRole('button', { name: 'Continue to your bank' }).click();
      await page.waitForURL(`${bank.url}/**`);
      await screenshot(page, '31-bank-withdraw');
      await submitForm(page, { password: TRANSACTION_PASSWORD }, 'Withdraw');
      await backFromBank(page, base);
      await eventuallyOn(
        page,
        '/ui/records',
        async () => /SUCCEEDED/.test(await page.getByTestId('withdrawal-records').innerText()),
        'the withdrawal to succeed',
      );
      await screenshot(page, '32-records-withdrawn');
      await page.goto('/ui/wallet');
      assert.match(await walletRow(page).innerText(), /CNY\s+88\.00\s+88\.00\s+0\.00/);
      await page.goto('/ui/bill');
      const bill = await page.getByTestId('entries').innerText();
      assert.match(bill, /-10\.00/);
      assert.match(bill, /-2\.00/);
      await screenshot(page, '33-bill-after-withdraw');
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await context.close();
    }
  });
  test('a large withdrawal asks for the SMS code first (risk control), then goes to the bank', async () => {
    const { page, watch, context } = await newPage(browser, base);
    try {
      const mobile = await newUser(page);
      await openAccount(page, mobile, false);
      await recharge(page, '6000.00', false);

      await page.goto('/ui/withdraw');
      await submitForm(page, { amount: '5000.00' }, 'Withdraw');
      await page.getByTestId('withdraw-sms').waitFor();
      await screenshot(page, '36-withdraw-sms-code');
      await submitForm(page, { code: '000000' }, 'Confirm');
      assert.match(await page.locator('body').innerText(), /code is not right/, 'a wrong code says so');

      const sink = (await (await fetch(`${base}/sandbox/sms?mobile=${encodeURIComponent(mobile)}`)).json()) as { data: { text: string }[] };
      const code = /\b(\d{6})\b/.exec(sink.data[0]?.text ?? '')?.[1];
      assert.ok(code, 'the code is in the sandbox SMS sink');
      await submitForm(page, { code }, 'Confirm');
      const withdraw = await bankFormOn(page);
      assert.equal(withdraw.data.amount, '5002.00', 'amount + fee leave the virtual account');
      await page.getByRole('button', { name: 'Continue to your bank' }).click();
      await page.waitForURL(`${bank.url}/**`);
      await submitForm(page, { password: TRANSACTION_PASSWORD }, 'Withdraw');
      await backFromBank(page, base);
      await eventuallyOn(
        page,
        '/ui/records',
        async () => /SUCCEEDED/.test(await page.getByTestId('withdrawal-records').innerText()),
        'the large withdrawal to succeed',
      );
      await screenshot(page, '37-records-large-withdrawal');
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('add a second card at the bank from the Cards page, then remove it', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = await newUser(page);
      const first = await openAccount(page, mobile, false);
      await page.goto('/ui/cards');
      const [addResponse] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${base}/ui/cards/add`),
        page.getByRole('button', { name: 'Add a card' }).click(),
      ]);
      assert.match(addResponse.headers()['content-security-policy'] ?? '', new RegExp(`form-action 'self' ${new URL(bank.url).origin}(;|$)`));
      const adding = await bankFormOn(page);
      assert.equal(adding.action, `${bank.url}/gateway`);
      assert.equal(adding.fields.serviceName, 'BIND_CARD');
      assert.equal(adding.data.callbackUrl, `${base}/ui/cards?notice=card-bank-returned`);
      await screenshot(page, '34-bank-form-add-card');

      await page.getByRole('button', { name: 'Continue to your bank' }).click();
      await page.waitForURL(`${bank.url}/**`);
      await screenshot(page, '35-bank-add-card');
      const second = `6217${String(Date.now()).slice(-8)}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
      await submitForm(page, { cardNumber: second, bankCode: 'CMB', password: TRANSACTION_PASSWORD }, 'Bind card');
      await backFromBank(page, base);
      assert.equal(new URL(page.url()).pathname, '/ui/cards');
      await eventuallyOn(page, '/ui/cards', async () => (await page.getByTestId('card').count()) === 2, 'the second card');
      const list = await page.getByTestId('cards').innerText();
      assert.match(list, new RegExp(`${second.slice(0, 4)}\\*+${second.slice(-4)}`));
      assert.doesNotMatch(list, new RegExp(second), 'the card number is masked');
      assert.match(list, /CMB/);
      await screenshot(page, '36-cards-two');

      await page.getByTestId('card').filter({ hasText: second.slice(-4) }).getByRole('button', { name: /Remove/ }).click();
      await page.getByTestId('flash-notice').filter({ hasText: 'The card was removed.' }).waitFor();
      assert.equal(await page.getByTestId('card').count(), 1);
      const left = await page.getByTestId('cards').innerText();
      assert.match(left, new RegExp(first.slice(-4)));
      assert.doesNotMatch(left, new RegExp(second.slice(-4)));
      await screenshot(page, '37-card-removed');
      assert.deepEqual(watch.cspViolations, []);
      assert.deepEqual(watch.pageErrors, []);
    } finally {
      await context.close();
    }
  });
});

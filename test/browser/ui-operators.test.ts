/**
 * The admin console and the merchant portal in a real headless Chromium,
 * against a real Coffer server and the bank simulator as its own process (the
 * payouts are executed by it), as `npm start` runs them:
 *  - an admin onboards a merchant (products, fees), activates and funds it,
 *    and creates its maker, checker and viewer, all in the console;
 *  - a risk rule's threshold is edited and the SMS sink shows the latest code;
 *  - the maker makes an API key in the portal, a merchant server pays out with
 *    it, and the payout, its webhook delivery (every attempt) and a re-send
 *    show in the portal; the day's reconciliation file lists it and downloads;
 *  - the batch flow end to end: a bad file's errors per line, a good file, the
 *    maker cannot approve it, a viewer cannot either, the checker approves, the
 *    results page shows final statuses and the results CSV downloads.
 * Screenshots of each step land in test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { signMerchantRequest } from '../../src/modules/merchants/index.ts';
import {
  browserSuiteSkip,
  eventuallyOn,
  FAST_USERS,
  newPage,
  screenshot,
  startBankRig,
  type BankRig,
  submitForm,
} from './support.ts';

const skip = browserSuiteSkip();
const PLATFORM_NO = 'coffer-browser-ops';
const ADMIN_TOKEN = 'browser-operators-admin-token-91c4';
const PASSWORD = 'operator-pass-123';

/** The operators this suite makes; the admin is bootstrapped with ADMIN_TOKEN, the others in the console. */
const OPS = { admin: 'root-admin', maker: 'mia-maker', checker: 'carl-checker', viewer: 'vic-viewer' } as const;

async function operatorLogIn(page: Page, username: string): Promise<void> {
  await page.goto('/ui/operator/login');
  await submitForm(page, { username, password: PASSWORD }, 'Log in as operator');
  await page.getByTestId('current-operator').waitFor();
  assert.equal(await page.getByTestId('current-operator').innerText(), username);
}

describe('admin console and merchant portal in a browser', { skip }, () => {
  let rig: BankRig;
  let browser: Browser;
  let base: string;
  let merchantId: string;
  let receiver: http.Server;
  let receiverUrl: string;
  const received: { status: number }[] = [];

  async function api(method: string, url: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    assert.ok(response.status < 300, `${method} ${url}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  before(async () => {
    rig = await startBankRig({
      platformNo: PLATFORM_NO,
      bankEnv: { BANK_PAYOUT_DELAY_MS: '50', BANK_PAYOUT_POLL_MS: '20' },
      cofferEnv: { ADMIN_TOKEN, PAYOUT_JOB_INTERVAL_MS: '50', PAYOUT_QUERY_AFTER_MS: '300', WEBHOOK_POLL_INTERVAL_MS: '100' },
      options: { ...FAST_USERS, operators: { scrypt: { ln: 10, r: 8, p: 1 } } },
    });
    ({ browser, base } = rig);
    // The merchant's webhook receiver: refuses the first delivery, takes the rest.
    receiver = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const status = received.length === 0 ? 500 : 200;
        received.push({ status });
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'thanks' : 'try later');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
    // The one thing the console cannot do for itself: its first admin.
    await api('POST', '/admin/operators', { username: OPS.admin, password: PASSWORD, role: 'admin' });
  });

  after(async () => {
    receiver?.close();
    await rig?.stop();
  });

  test('the admin onboards, activates and funds a merchant and creates its operators, all in the console', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await page.goto('/ui/portal');
      await page.waitForURL('**/ui/operator/login?notice=login-required&next=%2Fui%2Fportal');
      await screenshot(page, '40-operator-login');
      await operatorLogIn(page, OPS.admin);
      await page.waitForURL('**/ui/admin/merchants');
      await page.getByRole('navigation', { name: 'Admin console' }).waitFor();
      assert.equal(await page.getByRole('navigation', { name: 'Wallet' }).count(), 0, 'no wallet menu for an operator alone');

      await submitForm(page, { name: 'Browser Payroll Ltd', fixed: '1.00', rateBp: '50' }, 'Create merchant');
      await page.waitForURL('**/ui/admin/merchants/mch_*?notice=merchant-created');
      merchantId = /mch_[0-9a-z]+/.exec(page.url())![0];
      assert.match(await page.getByTestId('flash-notice').innerText(), /starts in review/);
      await page.getByRole('button', { name: 'Activate' }).click();
      await page.waitForURL('**?notice=merchant-updated');
      await page.getByTestId('flash-notice').getByText('The merchant was updated.').waitFor();
      await page.getByText('ACTIVE', { exact: true }).first().waitFor();

      // Funding: the reason is required by the service (audit), so an empty one is a message.
      await submitForm(page, { amount: '5000.00', currency: 'CNY', reason: ' ' }, 'Credit settlement account');
      assert.match(await page.getByTestId('flash-error').innerText(), /correct the highlighted fields/);
      assert.match(await page.locator('#field-reason-error').innerText(), /reason must say why/);
      await submitForm(page, { amount: '5000.00', currency: 'CNY', reason: 'opening float for payroll' }, 'Credit settlement account');
      await page.waitForURL('**notice=merchant-funded');
      const accounts = page.getByTestId('settlement-accounts');
      assert.match(await accounts.innerText(), /5000\.00 CNY/);
      assert.match(await page.getByTestId('entries').innerText(), /adjustment\s+\+5000\.00/);
      await screenshot(page, '41-admin-merchant-funded');

      await page.getByRole('link', { name: 'Operators' }).click();
      await page.waitForURL('**/ui/admin/operators');
      for (const role of ['maker', 'checker', 'viewer'] as const) {
        await page.locator('input[name="username"]').fill(OPS[role]);
        await page.locator('input[name="password"]').fill(PASSWORD);
        await page.locator('select[name="role"]').selectOption(role);
        await page.locator('input[name="merchantId"]').fill(merchantId);
        await page.getByRole('button', { name: 'Create operator' }).click();
        // The URL is the same after the second create: wait for the new row, not for the URL.
        await page.getByTestId('operators').getByText(OPS[role], { exact: true }).waitFor();
        assert.match(page.url(), /\/ui\/admin\/operators\?notice=operator-created$/);
      }
      const table = await page.getByTestId('operators').innerText();
      for (const name of Object.values(OPS)) assert.match(table, new RegExp(name));
      await screenshot(page, '42-admin-operators');

      // Every step was the admin operator's, in the audit log.
      const audit = (await api('GET', `/admin/audit-log?subjectId=${merchantId}`)) as { data: { action: string; principal: { kind: string } }[] };
      assert.deepEqual(audit.data.map((e) => e.action).sort(), ['merchant.activate', 'merchant.adjustment', 'merchant.create']);
      assert.ok(audit.data.every((e) => e.principal.kind === 'operator'));
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('the admin edits a risk rule\'s threshold, and the SMS sink shows the latest code per mobile', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await operatorLogIn(page, OPS.admin);
      await page.getByRole('link', { name: 'Risk rules' }).click();
      await page.waitForURL('**/ui/admin/risk/rules');
      const row = page.locator('tr[data-rule="rrl_seed_payout_high"]');
      assert.match(await row.innerText(), /amount >= 1000000\.00 CNY/);
      await row.getByRole('link').click();
      await page.waitForURL('**/ui/admin/risk/rules/rrl_seed_payout_high');
      await screenshot(page, '43-admin-rule-edit');
      await page.locator('input[name="amount"]').fill('800000.00');
      await page.getByRole('button', { name: 'Save rule' }).click();
      await page.waitForURL('**/ui/admin/risk/rules?notice=rule-saved');
      assert.match(await row.innerText(), /amount >= 800000\.00 CNY/);
      assert.match(await row.innerText(), /v2 · operator:op_/);
      await screenshot(page, '44-admin-rules');
      const rule = (await api('GET', '/admin/risk/rules/rrl_seed_payout_high')) as { version: number; params: { amount: string } };
      assert.deepEqual([rule.version, rule.params.amount], [2, '800000.00']);

      // Two codes to one mobile, one to another: the page shows the newest of each.
      await api('POST', '/l/sms/codes', { purpose: 'WITHDRAW', subjectId: 'usr_browser_a', mobile: '13800000001' });
      await api('POST', '/l/sms/codes', { purpose: 'PAYOUT', subjectId: 'usr_browser_b', mobile: '13800000001' });
      await api('POST', '/l/sms/codes', { purpose: 'WITHDRAW', subjectId: 'usr_browser_c', mobile: '13800000002' });
      await page.getByRole('link', { name: 'SMS sink' }).click();
      await page.waitForURL('**/ui/admin/sms');
      const latest = page.getByTestId('sms-latest');
      const rows = await latest.locator('tbody tr').allInnerTexts();
      assert.equal(rows.length, 2);
      assert.match(rows.find((r) => r.includes('13800000001'))!, /\d{6} is your verification code for PAYOUT/);
      assert.match(rows.find((r) => r.includes('13800000002'))!, /\d{6} is your verification code for WITHDRAW/);
      await screenshot(page, '45-admin-sms-sink');

      // The books: every invariant holds, the journal's chains are intact, no alert is open.
      await page.getByRole('link', { name: 'Books' }).click();
      await page.waitForURL('**/ui/admin/books');
      assert.doesNotMatch(await page.getByTestId('invariants').innerText(), /BROKEN/);
      assert.match(await page.getByTestId('chain').innerText(), /intact \d+ entries in \d+ account chains/);
      await page.getByTestId('alerts-none').waitFor();
      await screenshot(page, '46-admin-books');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('the maker makes an API key in the portal; a payout made with it and its webhook deliveries show, and a re-send lands', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await operatorLogIn(page, OPS.maker);
      await page.waitForURL('**/ui/portal');
      assert.match(await page.getByTestId('available-CNY').innerText(), /5000\.00/);
      await screenshot(page, '46-portal-overview');

      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('button', { name: 'Create maker key' }).click();
      const keyId = await page.getByTestId('new-key-id').innerText();
      const secret = await page.getByTestId('new-key-secret').innerText();
      await screenshot(page, '47-portal-new-key');

      // The merchant's server, with the key made in the portal.
      const signed = async (method: string, url: string, body: unknown) => {
        const text = JSON.stringify(body);
        const response = await fetch(`${base}${url}`, {
          method,
          headers: { ...signMerchantRequest({ keyId, secret, method, path: url, body: text }), 'content-type': 'application/json' },
          body: text,
        });
        assert.ok(response.status < 300, `${url}: ${response.status} ${await response.text()}`);
      };
      await signed('POST', '/v1/webhook-endpoints', { url: receiverUrl });
      await signed('POST', '/v1/payouts', { merchantOrderNo: 'single-1', amount: '120.00', currency: 'CNY', beneficiary: { name: 'Li Lei', accountNo: '6222000011110001', bankCode: 'ICBC' } });

      await eventuallyOn(page, '/ui/portal/payouts?status=SUCCEEDED', async () => (await page.getByTestId('payouts').count()) > 0, 'the payout to succeed');
      await screenshot(page, '48-portal-payouts');
      await page.getByRole('link', { name: 'single-1' }).click();
      assert.match(await page.getByTestId('payout').innerText(), /SUCCEEDED[\s\S]*120\.00 CNY[\s\S]*1\.60 CNY/);

      // The receiver refused the first delivery; the portal shows that attempt, and a re-send lands.
      await eventuallyOn(page, '/ui/portal/webhooks', async () => (await page.getByTestId('attempts').count()) > 0, 'a delivery attempt');
      const delivery = page.getByTestId('delivery').first();
      assert.match(await delivery.innerText(), /payout\.succeeded[\s\S]*HTTP 500/);
      await delivery.getByRole('button', { name: 'Re-send' }).click();
      await page.waitForURL('**/ui/portal/webhooks?notice=delivery-resent');
      const after = await page.getByTestId('delivery').first().innerText();
      assert.match(after, /DELIVERED/);
      assert.match(after, /HTTP 500[\s\S]*HTTP 200|HTTP 200[\s\S]*HTTP 500/);
      await screenshot(page, '49-portal-webhook-resent');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('the reconciliation file of the day lists the payout and downloads from the portal', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await operatorLogIn(page, OPS.viewer);
      await page.getByRole('link', { name: 'Reconciliation' }).click();
      await page.waitForURL('**/ui/portal/reconciliation');
      const today = new Date().toISOString().slice(0, 10);
      await eventuallyOn(page, '/ui/portal/reconciliation', async () => /[1-9]\d*\s+OPEN|[1-9]\d*\s+CLOSED/.test(await page.getByTestId('reconciliation-days').innerText()), 'the day to have lines');
      assert.match(await page.getByTestId('reconciliation-days').innerText(), new RegExp(today));
      await screenshot(page, '55-portal-reconciliation');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).first().click()]);
      assert.equal(download.suggestedFilename(), `reconciliation-${today}.csv`);
      const csv = fs.readFileSync((await download.path())!, 'utf8');
      assert.match(csv, /^bookedAt,type,payoutId,merchantOrderNo/);
      assert.match(csv, /PAYOUT,po_[0-9a-z]+,single-1,/);
      assert.match(csv, /SUMMARY,day=/);
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('the admin checks the day three ways in the console: the payout matches the bank, and the breaks CSV downloads', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      await operatorLogIn(page, OPS.admin);
      await page.getByRole('link', { name: 'Settlement' }).click();
      await page.waitForURL('**/ui/admin/settlement-checks');
      const today = new Date().toISOString().slice(0, 10);
      await page.getByLabel('Day (yyyy-mm-dd, UTC)').fill(today);
      await page.getByRole('button', { name: 'Run the check' }).click();
      await page.waitForURL(`**/ui/admin/settlement-checks/${today}?notice=settlement-checked`);
      assert.match(await page.getByTestId('settlement-day').innerText(), /CLEAN [1-9]\d* items?: [1-9]\d* matched, 0 in flight, 0 breaks; checked 1 time/);
      await page.getByTestId('no-breaks').waitFor();
      await screenshot(page, '56-admin-settlement-day');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('settlement-csv').click()]);
      assert.equal(download.suggestedFilename(), `settlement-check-${today}.csv`);
      assert.equal(fs.readFileSync((await download.path())!, 'utf8'), 'date,type,kind,businessId,oddSource,ledger,records,bank,detail\r\n');
      await page.getByRole('link', { name: 'All checked days' }).click();
      assert.match(await page.getByTestId('settlement-runs').innerText(), new RegExp(`${today}\\s+CLEAN`));
      await screenshot(page, '57-admin-settlement-runs');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  /** The page's CSRF token (every page with the operator bar has one), for a request a tampering user forges. */
  async function forgeApproval(page: Page, batchPath: string): Promise<number> {
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const response = await page.request.post(`${base}${batchPath}/approve`, { form: { _csrf: token }, maxRedirects: 0 });
    return response.status();
  }

  test('batch payouts: errors per line, upload, nobody but a checker who did not make it approves, results and their CSV', async () => {
    const header = 'merchantOrderNo,amount,currency,name,accountNo,bankCode,remark';
    const maker = await newPage(browser, base);
    const viewer = await newPage(browser, base);
    const checker = await newPage(browser, base);
    try {
      const { page } = maker;
      await operatorLogIn(page, OPS.maker);
      await page.getByRole('link', { name: 'Batches' }).click();
      await page.waitForURL('**/ui/portal/batches');
      const bad = [header, 'b-1,abc,CNY,Li Lei,6222000011112221,ICBC,', 'b-2,10.00,CNY,,6222000011112222,ICBC,', 'b-3,10.00,CNY,Han Meimei,6222000011112223,ICBC,'].join('\n');
      await page.locator('input[name="file"]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
      await page.getByRole('button', { name: 'Upload batch' }).click();
      const errors = page.getByTestId('line-errors');
      await errors.waitFor();
      const lines = await errors.locator('tbody tr td:first-child').allInnerTexts();
      assert.deepEqual(lines, ['2', '3'], 'the two bad lines, in order, and only those');
      assert.match(await page.getByTestId('flash-error').innerText(), /.+/);
      await screenshot(page, '50-portal-batch-line-errors');
      assert.match(await page.locator('main').innerText(), /No batches/, 'nothing was created');

      const good = [header, 'b-1,100.00,CNY,Li Lei,6222000011112221,ICBC,salary', 'b-2,200.00,CNY,Han Meimei,6222000011110002,ICBC,salary', 'b-3,50.00,CNY,Wang Wu,6222000011112223,ICBC,bonus'].join('\n');
      await page.locator('input[name="file"]').setInputFiles({ name: 'payroll.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
      await page.getByRole('button', { name: 'Upload batch' }).click();
      await page.waitForURL('**/ui/portal/batches/pb_*?notice=batch-created');
      const batchPath = new URL(page.url()).pathname;
      assert.equal(await page.getByTestId('batch-status').innerText(), 'AWAITING_APPROVAL');
      assert.match(await page.getByTestId('batch-counts').innerText(), /Total\s+3\s+350\.00 CNY/);
      assert.equal(await page.getByRole('button', { name: 'Approve batch' }).count(), 0);
      assert.match(await page.getByTestId('cannot-decide').innerText(), /only checkers approve/);
      await screenshot(page, '51-portal-batch-awaiting');
      // The maker forges the approval with a valid token: refused, and nothing moved.
      assert.equal(await forgeApproval(page, batchPath), 403);

      await operatorLogIn(viewer.page, OPS.viewer);
      await viewer.page.goto(batchPath);
      assert.equal(await viewer.page.getByRole('button', { name: 'Approve batch' }).count(), 0);
      assert.match(await viewer.page.getByTestId('cannot-decide').innerText(), /only checkers approve/);
      assert.equal(await forgeApproval(viewer.page, batchPath), 403);
      await screenshot(viewer.page, '52-portal-batch-viewer');
      await viewer.page.reload();
      assert.equal(await viewer.page.getByTestId('batch-status').innerText(), 'AWAITING_APPROVAL', 'still waiting after both attempts');

      await operatorLogIn(checker.page, OPS.checker);
      await checker.page.goto(batchPath);
      await screenshot(checker.page, '53-portal-batch-checker');
      await checker.page.getByRole('button', { name: 'Approve batch' }).click();
      await checker.page.waitForURL('**?notice=batch-approved');
      await eventuallyOn(checker.page, batchPath, async () => (await checker.page.getByTestId('batch-status').innerText()) === 'PROCESSED', 'the batch to be processed');
      const counts = checker.page.getByTestId('batch-counts');
      assert.match(await counts.locator('tr[data-status="SUCCEEDED"]').innerText(), /SUCCEEDED\s+2\s+150\.00 CNY/);
      assert.match(await counts.locator('tr[data-status="FAILED"]').innerText(), /FAILED\s+1\s+200\.00 CNY/);
      assert.match(await checker.page.locator('main').innerText(), /decided by you/);
      await screenshot(checker.page, '54-portal-batch-processed');

      const [download] = await Promise.all([checker.page.waitForEvent('download'), checker.page.getByRole('link', { name: 'Download results CSV' }).click()]);
      const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
      assert.equal(csv.length, 4, csv.join('\n'));
      const byOrder = new Map(csv.slice(1).map((line) => [line.split(',')[0], line]));
      assert.match(byOrder.get('b-1')!, /po_[0-9a-z]+.*SUCCEEDED/);
      assert.match(byOrder.get('b-2')!, /po_[0-9a-z]+.*FAILED.*ACCOUNT_CLOSED/);
      assert.match(byOrder.get('b-3')!, /po_[0-9a-z]+.*SUCCEEDED/);
      // The upload and the approval are in the audit log under their operators; the refused attempts left nothing.
      const batchId = batchPath.split('/').at(-1)!;
      const audit = (await api('GET', `/admin/audit-log?subjectId=${batchId}`)) as { data: { action: string; principal: { kind: string; id: string } }[] };
      const operators = (await api('GET', '/admin/operators?limit=200')) as { data: { operatorId: string; username: string }[] };
      const idOf = (name: string) => operators.data.find((o) => o.username === name)!.operatorId;
      assert.deepEqual(
        audit.data.map((e) => [e.action, e.principal.id]).sort(),
        [['payout_batch.approve', idOf(OPS.checker)], ['payout_batch.create', idOf(OPS.maker)]],
      );
      for (const { watch } of [maker, viewer, checker]) watch.assertClean();
    } finally {
      await Promise.all([maker.context.close(), viewer.context.close(), checker.context.close()]);
    }
  });
});

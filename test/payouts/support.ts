/**
 * Shared by the payouts suites: the REAL bank simulator (in process, its own
 * embedded store) with its payout channel, and a real Coffer server on either
 * store that knows the bank's URL and key and is known to the bank by its
 * public URL (notifications come back over HTTP). Merchants are onboarded,
 * funded and sign their requests exactly as SPEC 5 says.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningCoffer, StartOptions } from '../../src/main.ts';
import { loadBankConfig } from '../../src/bank-simulator/config.ts';
import { startBankSimulator, type RunningBankSimulator } from '../../src/bank-simulator/main.ts';
import { ensureKeyPair, type KeyPair, signText } from '../../src/protocol/depository.ts';
import type { PayoutResultData } from '../../src/protocol/payout-channel.ts';
import { bankEnv, platformKeys, PLATFORM_NO, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { freePort } from '../browser/support.ts';
import { type ApiResponse, type TestBooks } from '../ledger-http/support.ts';
import { Admin, type MerchantClient, startServer } from '../merchants/support.ts';

export { Admin, ADMIN_TOKEN, MerchantClient } from '../merchants/support.ts';
export { assertProblem, createBooks, sleep, unique, type ApiResponse } from '../ledger-http/support.ts';
export { PLATFORM_NO };

export interface PayoutView {
  id: string;
  status: string;
  merchantOrderNo: string;
  amount: string;
  fee: string;
  currency: string;
  beneficiary: { name: string; accountNo: string; bankCode: string };
  remark: string | null;
  riskLevel: string;
  reviewPending: boolean;
  errorCode: string | null;
  channelRef: string | null;
  created: string;
  updated: string;
}

export interface Rig {
  coffer: RunningCoffer;
  bankUrl: string;
  /** The bank's own key pair: a test plays the bank with it. */
  bankKeys: KeyPair;
  admin: Admin;
  close(): Promise<void>;
}

/** The bank simulator and a Coffer over `books`, wired to each other. */
export async function startRig(books: TestBooks, cofferEnv: Record<string, string> = {}, bankOverrides: Record<string, string> = {}, startOptions: StartOptions = {}): Promise<Rig> {
  const dir = tempDir('payouts');
  const platform = platformKeys(dir); // dir/platform-keys: Coffer's KEYS_DIR
  seedBankKeys(dir);
  const bank: RunningBankSimulator = await startBankSimulator(
    loadBankConfig(
      bankEnv(dir, platform, {
        BANK_PAYOUT_DELAY_MS: '50',
        BANK_PAYOUT_REVERSAL_MS: '400',
        BANK_PAYOUT_HANG_MS: '3000',
        BANK_PAYOUT_POLL_MS: '20',
        ...bankOverrides,
      }),
    ),
  );
  const port = await freePort();
  let coffer: RunningCoffer;
  try {
    coffer = await startServer(books, {
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      KEYS_DIR: path.dirname(platform.publicKeyPath),
      PLATFORM_NO,
      BANK_URL: bank.url,
      BANK_PUBLIC_KEY_PATH: bank.publicKeyPath,
      PAYOUT_ORDER_TIMEOUT_MS: '400',
      PAYOUT_QUERY_AFTER_MS: '200',
      PAYOUT_REVERSAL_QUERY_AFTER_MS: '1000',
      PAYOUT_JOB_INTERVAL_MS: '50',
      OUTBOX_POLL_INTERVAL_MS: '25',
      ...cofferEnv,
    }, startOptions);
  } catch (err) {
    await bank.close();
    throw err;
  }
  return {
    coffer,
    bankUrl: bank.url,
    bankKeys: ensureKeyPair(path.join(dir, 'bank', 'keys'), 'bank'),
    admin: new Admin(coffer.url),
    async close() {
      await coffer.close();
      await bank.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function payoutBody(merchantOrderNo: string, accountNo = '6222000011112222', amount = '100.00') {
  return { merchantOrderNo, amount, currency: 'CNY', beneficiary: { name: 'Li Lei', accountNo, bankCode: 'ICBC' }, remark: 'salary' };
}

export function postPayout(client: MerchantClient, body: unknown, headers: Record<string, string> = {}) {
  return client.request<PayoutView>('POST', '/v1/payouts', { body: JSON.stringify(body), headers });
}

export async function getPayout(client: MerchantClient, id: string): Promise<PayoutView> {
  const response = await client.request<PayoutView>('GET', `/v1/payouts/${id}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

export async function waitForStatus(client: MerchantClient, id: string, status: string, timeoutMs = 20_000): Promise<PayoutView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const payout = await getPayout(client, id);
    if (payout.status === status) return payout;
    assert.ok(Date.now() < deadline, `payout ${id} is ${payout.status}, waited for ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Balance {
  balance: string;
  available: string;
  pendingDebits: string;
}

export async function balanceOf(client: MerchantClient): Promise<Balance> {
  const me = await client.request<{ balances: (Balance & { currency: string })[] }>('GET', '/v1/merchant');
  assert.equal(me.status, 200);
  const cny = me.body.balances.find((b) => b.currency === 'CNY');
  return cny ? { balance: cny.balance, available: cny.available, pendingDebits: cny.pendingDebits } : { balance: '0.00', available: '0.00', pendingDebits: '0.00' };
}

/** An ACTIVE merchant with PAYOUT_SINGLE, a fee of 1.00 + 0.5 % (min 1.50), funded with `funds`. */
export async function fundedMerchant(admin: Admin, funds = '1000.00', body: Record<string, unknown> = {}) {
  const made = await admin.activeMerchant({
    products: ['PAYOUT_SINGLE'],
    fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.00', rateBp: 50, min: '1.50' }],
    ...body,
  });
  await admin.ok('POST', `/admin/merchants/${made.merchant.merchantId}/adjustments`, { amount: funds, currency: 'CNY', reason: 'test funding' });
  return made;
}

export interface TransferView {
  id: string;
  state: string;
  amount: string;
  debitAccountId: string;
  creditAccountId: string;
}

export async function transfer(admin: Admin, id: string): Promise<ApiResponse<TransferView>> {
  return admin.request<TransferView>('GET', `/admin/ledger/transfers/${encodeURIComponent(id)}`);
}

export async function accountBalance(admin: Admin, accountId: string): Promise<string> {
  return (await admin.ok<{ balance: string }>('GET', `/admin/ledger/accounts/${accountId}`)).balance;
}

export async function assertInvariants(admin: Admin): Promise<void> {
  const report = await admin.ok<{ ok: boolean; checks: { name: string; ok: boolean }[] }>('GET', '/admin/ledger/invariants');
  assert.deepEqual(report.checks.filter((c) => !c.ok), [], 'every ledger invariant holds');
  assert.equal(report.ok, true);
}

/** The bank's signed notification, sent the way the bank sends it (GET with the query string). */
export async function notify(rig: Rig, result: Omit<PayoutResultData, 'timestamp'>, signWith = rig.bankKeys.privateKey): Promise<{ status: number; body: string }> {
  const reqData = JSON.stringify({ ...result, timestamp: new Date().toISOString() });
  const query = new URLSearchParams({ serviceName: 'PAYOUT', platformNo: PLATFORM_NO, signature: signText(reqData, signWith), reqData });
  const response = await fetch(`${rig.coffer.url}/channel/payout-notifications?${query.toString()}`);
  return { status: response.status, body: await response.text() };
}

export async function decisionsOf(admin: Admin, merchantId: string) {
  return (
    await admin.ok<{ data: { decisionId: string; level: string; reference: string; counted: boolean; releasedAt: string | null }[] }>(
      'GET',
      `/admin/risk/decisions?subjectId=${merchantId}&subjectKind=MERCHANT`,
    )
  ).data;
}

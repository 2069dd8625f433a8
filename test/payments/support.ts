/**
 * Shared by the payments suites: the REAL bank simulator as its own process
 * (its card payment channels and their sandbox controls) and a real Coffer on
 * either store that knows the bank's URL and key. Users register and pay over
 * HTTP; payments are created in-process (as a business module would, in its
 * own transaction) with a PRODUCT_HOLDING account of the user as the credit account.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RunningCoffer } from '../../src/main.ts';
import type { PaymentView } from '../../src/modules/payments/index.ts';
import type { AccountId } from '../../src/modules/ledger/index.ts';
import { luhnValid } from '../../src/modules/payments/payments.cards.ts';
import { HttpChannelConnector } from '../../src/modules/payments/payments.connector.ts';
import { BankPublicKey } from '../../src/platform/bank-key.ts';
import type { KeyPair } from '../../src/protocol/depository.ts';
import { sql } from 'kysely';
import { bankEnv, PLATFORM_NO, platformKeys, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { type BankChild, FAST_USERS, startBankChild } from '../browser/support.ts';
import { createBooks, type TestBooks } from '../ledger-http/support.ts';
import { ADMIN_TOKEN, Client, type Reply, startServer } from '../users/support.ts';

export { assertProblem, sleep } from '../ledger-http/support.ts';
export { ADMIN_TOKEN, type Reply };
export type { PaymentView };

/** Fast knobs: short channel time-out and leases, jobs every 50 ms, no SMS resend cool-down, seeded routing. */
export const PAYMENT_TEST_ENV: Record<string, string> = {
  PAYMENT_CHANNEL_TIMEOUT_MS: '1500',
  PAYMENT_CONFIRM_LEASE_MS: '3000',
  PAYMENT_QUERY_RETRY_MS: '150',
  PAYMENT_JOB_INTERVAL_MS: '50',
  PAYMENT_ROUTING_SEED: '7',
  PAYMENT_CIRCUIT_FAILURES: '3',
  PAYMENT_CIRCUIT_COOL_DOWN_MS: '3000',
  SMS_RESEND_COOLDOWN_S: '0',
  OUTBOX_POLL_INTERVAL_MS: '25',
};

export interface Payer {
  userId: string;
  mobile: string;
  token: string;
  /** The user's PRODUCT_HOLDING (CNY): what a successful payment credits. */
  holdingAccountId: AccountId;
  cardId: string;
}

export class PaymentsRig {
  readonly client: Client;

  private constructor(
    readonly coffer: RunningCoffer,
    readonly bank: BankChild,
    private readonly books: TestBooks,
    private readonly dir: string,
    private readonly platform: KeyPair,
  ) {
    this.client = new Client(coffer.url);
  }

  static async start(kind: TestBooks['kind'], env: Record<string, string> = {}, bankOverrides: Record<string, string> = {}): Promise<PaymentsRig> {
    const books = await createBooks(kind);
    const dir = tempDir('payments');
    const platform = platformKeys(dir);
    seedBankKeys(dir);
    const bank = await startBankChild(bankEnv(dir, platform, { BANK_CHANNEL_HANG_MS: '20000', ...bankOverrides }));
    try {
      const coffer = await startServer(books, FAST_USERS, {
        KEYS_DIR: path.dirname(platform.publicKeyPath),
        PLATFORM_NO,
        BANK_URL: bank.url,
        BANK_PUBLIC_KEY_PATH: path.join(dir, 'bank', 'keys', 'bank-public.pem'),
        MERCHANT_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
        ...PAYMENT_TEST_ENV,
        ...env,
      });
      return new PaymentsRig(coffer, bank, books, dir, platform);
    } catch (err) {
      await bank.stop();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.coffer.close();
    await this.bank.stop();
    await this.books.dispose();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- arranging ------------------------------------------------------------------------------

  async admin<T = any>(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<Reply<T>> {
    return this.client.request<T>(method, urlPath, { token: ADMIN_TOKEN, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  }

  async adminOk<T = any>(method: string, urlPath: string, body?: unknown, status = 200): Promise<T> {
    const reply = await this.admin<T>(method, urlPath, body);
    assert.equal(reply.status, status, `${method} ${urlPath} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  /** A registered user with a PRODUCT_HOLDING account and a payment card (`cardNumber`, or a fresh one that is debited). */
  async payer(cardNumber = cardEnding('4242')): Promise<Payer> {
    const user = await this.client.newUser();
    const account = await this.adminOk<{ id: AccountId }>('POST', '/admin/ledger/accounts', { ownerKind: 'USER', ownerId: user.userId, type: 'PRODUCT_HOLDING', currency: 'CNY' }, 201);
    const card = await this.as(user, 'POST', '/my/payment-cards', { cardNumber, holderName: 'Li Lei', mobile: user.mobile, bankCode: 'ICBC' });
    assert.equal(card.status, 201, JSON.stringify(card.body));
    return { ...user, holdingAccountId: account.id, cardId: card.body.id };
  }

  as<T = any>(payer: { token: string }, method: string, urlPath: string, body?: unknown): Promise<Reply<T>> {
    return this.client.request<T>(method, urlPath, { token: payer.token, ...(body !== undefined ? { body } : {}) });
  }

  /** What a business module does: a payment order in its own transaction. */
  async createPayment(payer: Payer, amount: bigint, options: { expiresInMs?: number; businessOrderNo?: string } = {}): Promise<string> {
    const { payOrderNo } = await this.coffer.store.db.transaction().execute((trx) =>
      this.coffer.payments.createPayment(
        {
          businessType: 'SUBSCRIPTION',
          businessOrderNo: options.businessOrderNo ?? `sub-${Date.now()}-${randomInt(1e9)}`,
          userId: payer.userId,
          amountMinor: amount,
          currency: 'CNY',
          creditAccountId: payer.holdingAccountId,
          transferCode: 'subscription',
          description: 'Test product',
          expiresAt: new Date(Date.now() + (options.expiresInMs ?? 10 * 60_000)),
        },
        trx,
      ),
    );
    return payOrderNo;
  }

  sms(payer: Payer, payOrderNo: string, body: { cardId?: string; couponId?: string } = {}) {
    return this.as<PaymentView>(payer, 'POST', `/my/payments/${payOrderNo}/sms`, { cardId: payer.cardId, ...body });
  }

  async smsOk(payer: Payer, payOrderNo: string, body: { cardId?: string; couponId?: string } = {}): Promise<PaymentView> {
    const reply = await this.sms(payer, payOrderNo, body);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body;
  }

  confirm(payer: Payer, payOrderNo: string, smsCode: string) {
    return this.as<PaymentView>(payer, 'POST', `/my/payments/${payOrderNo}/confirm`, { smsCode });
  }

  async payment(payer: Payer, payOrderNo: string): Promise<PaymentView> {
    const reply = await this.as<PaymentView>(payer, 'GET', `/my/payments/${payOrderNo}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body;
  }

  async waitForStatus(payer: Payer, payOrderNo: string, status: string, timeoutMs = 15_000): Promise<PaymentView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const payment = await this.payment(payer, payOrderNo);
      if (payment.status === status) return payment;
      assert.ok(Date.now() < deadline, `payment ${payOrderNo} is ${payment.status}/${payment.step}, waited for ${status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The code the channel texted for the payment's current attempt (the channels' own SMS sink). */
  async channelCode(mobile: string): Promise<{ channelCode: string; attemptNo: string; code: string }> {
    const texted = await this.bankSandbox<{ channelCode: string; attemptNo: string; code: string }[]>('GET', `/sandbox/channel-sms?mobile=${mobile}`);
    assert.ok(texted.length > 0, `no channel SMS to ${mobile}`);
    return texted[0]!;
  }

  /** The code the channel texted for this payment's quick-pay attempt (several payments may text one mobile). */
  async channelCodeFor(payOrderNo: string, mobile: string): Promise<string> {
    const { rows } = await sql<{ attemptNo: string }>`select sms_attempt_no as "attemptNo" from payment_orders where pay_order_no = ${payOrderNo}`.execute(this.coffer.store.db);
    const texted = await this.bankSandbox<{ attemptNo: string; code: string }[]>('GET', `/sandbox/channel-sms?mobile=${mobile}`);
    const code = texted.find((t) => t.attemptNo === rows[0]?.attemptNo)?.code;
    assert.ok(code, `no channel SMS for ${payOrderNo}`);
    return code;
  }

  /** Coffer's own signed client of the channels, for a test that plays a Coffer process which crashed mid-call. */
  connector(): HttpChannelConnector {
    return new HttpChannelConnector({
      baseUrl: (code) => `${this.bank.url}/channels/${code}`,
      platformNo: PLATFORM_NO,
      platformPrivateKey: this.platform.privateKey,
      bankPublicKey: new BankPublicKey(path.join(this.dir, 'bank', 'keys', 'bank-public.pem'), { error: () => {} }),
      timeoutMs: 5000,
    });
  }

  /** The code Coffer's SMS module texted (its development sink), newest first. */
  async cofferCode(mobile: string): Promise<string> {
    const sink = await this.adminOk<{ data: { text: string }[] }>('GET', `/sandbox/sms?mobile=${mobile}`);
    const code = /\b(\d{6})\b/.exec(sink.data[0]?.text ?? '')?.[1];
    assert.ok(code, `no Coffer SMS code to ${mobile}`);
    return code;
  }

  async bankSandbox<T = any>(method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.bank.url}${urlPath}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${urlPath} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  setChannel(code: string, state: { mode?: 'UP' | 'DOWN' | 'SLOW' | 'DECLINE' | 'TIMEOUT'; slowMs?: number; smsFailing?: boolean }) {
    return this.bankSandbox('POST', `/sandbox/channels/${code}`, state);
  }

  /** Every channel UP (simulator) and every channel's configuration and circuit as seeded (Coffer). */
  async resetChannels(): Promise<void> {
    await this.bankSandbox('POST', '/sandbox/channels/reset');
    const seeded: Record<string, object> = {
      QP_ALPHA: { methods: ['QUICK_PAY'], banks: null, currencies: ['CNY', 'USD', 'EUR'], minAmount: '0.01', maxAmount: '50000.00', priority: 10, weight: 70, enabled: true },
      QP_BETA: { methods: ['QUICK_PAY'], banks: null, currencies: ['CNY', 'USD', 'EUR'], minAmount: '0.01', maxAmount: '20000.00', priority: 10, weight: 30, enabled: true },
      DD_GAMMA: { methods: ['DIRECT_DEBIT'], banks: null, currencies: ['CNY', 'USD'], minAmount: '0.01', maxAmount: '100000.00', priority: 10, weight: 100, enabled: true },
    };
    for (const channel of await this.adminOk<{ code: string; version: number }[]>('GET', '/admin/channels')) {
      await this.adminOk('PUT', `/admin/channels/${channel.code}`, { ...seeded[channel.code], version: channel.version });
    }
    await sql`update payment_circuits set state = 'CLOSED', failures = 0, window_started_at = null, opened_at = null, retry_at = null, trial_until = null`.execute(this.coffer.store.db);
  }

  async editChannel(code: string, patch: Record<string, unknown>) {
    const channel = (await this.adminOk<{ code: string; version: number }[]>('GET', '/admin/channels')).find((c) => c.code === code)!;
    return this.adminOk('PUT', `/admin/channels/${code}`, { ...patch, version: channel.version });
  }

  async balance(accountId: string): Promise<string> {
    return (await this.adminOk<{ balance: string }>('GET', `/admin/ledger/accounts/${accountId}`)).balance;
  }

  async transfer(id: string): Promise<Reply<{ id: string; amount: string; debitAccountId: string; creditAccountId: string; code: string }>> {
    return this.admin('GET', `/admin/ledger/transfers/${encodeURIComponent(id)}`);
  }

  async assertInvariants(): Promise<void> {
    const report = await this.adminOk<{ ok: boolean; checks: { name: string; ok: boolean }[] }>('GET', '/admin/ledger/invariants');
    assert.deepEqual(report.checks.filter((c) => !c.ok), [], 'every ledger invariant holds');
  }

  async issueCoupon(payer: Payer, amountOff: string, minSpend: string, expiresAt = new Date(Date.now() + 3600_000).toISOString()) {
    return this.adminOk<{ id: string; status: string }>('POST', '/admin/coupons', { userId: payer.userId, amountOff, minSpend, currency: 'CNY', expiresAt }, 201);
  }

  async decisions(payOrderNo: string) {
    return (await this.adminOk<{ data: { step: string; method: string; candidates: { code: string; eligible: boolean; reason?: string }[]; order: string[]; chosen?: string; rule: string }[] }>(
      'GET',
      `/admin/routing-decisions?payOrderNo=${payOrderNo}`,
    )).data.reverse();
  }

  async circuit(code: string) {
    return (await this.adminOk<{ code: string; circuit: { state: string; failures: number } }[]>('GET', '/admin/channels')).find((c) => c.code === code)!.circuit;
  }
}

/** A Luhn-valid 16-digit card number ending in `suffix` (sandbox cards: 0051 insufficient funds, 0069 declined). */
export function cardEnding(suffix: string): string {
  const body = `622202${String(randomInt(0, 100_000)).padStart(5, '0')}`;
  for (let digit = 0; digit <= 9; digit++) {
    const number = `${body}${digit}${suffix}`;
    if (luhnValid(number)) return number;
  }
  throw new Error(`no Luhn-valid number ends in ${suffix}`);
}

/**
 * Shared by the database-fault suites (db-*.test.ts): Coffer server processes
 * on a PostgreSQL server of the test's own (so it can be crashed and
 * restarted), optionally through a proxy that plays a bad network, behind a
 * round-robin balancer, with the real bank simulator process and a tap in
 * front of it that sees every payout order. A merchant sends signed payouts
 * as a careful client does (Idempotency-Key, retried on a 5xx or a lost
 * connection); what Coffer acknowledged is recorded, and the checks at the
 * end hold every acknowledged payout to "present once, final, paid once".
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { seededRandom } from '../../src/platform/random.ts';
import { bankEnv, platformKeys, PLATFORM_NO, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { type BankChild, startBankChild } from '../browser/support.ts';
import { ADMIN_TOKEN, Admin, type MerchantClient } from '../merchants/support.ts';
import { assertInvariants, balanceOf, fundedMerchant } from '../payouts/support.ts';
import { type CofferChild, RoundRobinBalancer, startCofferChild } from '../scale/support.ts';
import { PgProxy } from '../support/pg-proxy.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.ts';
import { createEndpoint, Receiver, waitFor } from '../webhooks/support.ts';

export { seededRandom, waitFor };

/** Sandbox beneficiaries (SPEC 5) and the status each ends in. */
export const BENEFICIARIES = [
  { accountNo: '6222000011112222', final: 'SUCCEEDED' },
  { accountNo: '6222000011110002', final: 'FAILED' },
  { accountNo: '6222000011110003', final: 'REVERSED' },
  { accountNo: '6222000011110004', final: 'SUCCEEDED' },
] as const;

const FUNDS = '100000.00';
const AMOUNT = '10.00';
const HOOK_PATH = '/hooks/db-faults';

/** The seed of a run: DB_FAULTS_SEED when set (to replay one), else random; printed either way. */
export function runSeed(suite: string): number {
  const seed = process.env.DB_FAULTS_SEED ? Number(process.env.DB_FAULTS_SEED) : randomBytes(4).readUInt32LE(0);
  console.log(`[${suite}] seed ${seed} (replay: DB_FAULTS_SEED=${seed})`);
  return seed;
}

export interface RigOptions {
  label: string;
  processes: number;
  /** Coffer reaches PostgreSQL through a PgProxy. */
  proxy: boolean;
  cofferEnv?: Record<string, string>;
  bankEnv?: Record<string, string>;
}

export interface Ack {
  merchantOrderNo: string;
  payoutId: string;
  expected: string;
}

export class DbFaultRig {
  readonly receiver = new Receiver();
  readonly processes: CofferChild[] = [];
  readonly balancer = new RoundRobinBalancer(() => this.processes.filter((p) => p.alive()).map((p) => p.url));
  /** Between Coffer and the bank: every payout order Coffer sends, with when it was out. */
  readonly bankTap = new RoundRobinBalancer(() => [this.bank.url]);
  /** Every payout Coffer answered 202 (or named in a 409 for the same order number). */
  readonly acks: Ack[] = [];
  /** Every answer the merchant got, by status: what the faults looked like from outside. */
  readonly answers = new Map<string, number>();
  server!: PrivatePostgres;
  proxy: PgProxy | undefined;
  bank!: BankChild;
  admin!: Admin;
  merchant!: MerchantClient;
  merchantId!: string;
  private dir = '';
  private databaseName = `coffer_${randomBytes(4).toString('hex')}`;

  constructor(private readonly options: RigOptions) {}

  /** A connection URL that bypasses the proxy: the test's own reads. */
  get directUrl(): string {
    return this.server.url(this.databaseName);
  }

  async start(): Promise<void> {
    const { options } = this;
    this.dir = tempDir(`db-${options.label}`);
    const platform = platformKeys(this.dir);
    seedBankKeys(this.dir);
    this.server = await startPrivatePostgres(options.label);
    await this.server.createDatabase(this.databaseName);
    if (options.proxy) {
      this.proxy = new PgProxy(this.server.port);
      await this.proxy.start();
    }
    await this.receiver.start();
    this.receiver.script(HOOK_PATH, []);
    await this.balancer.start();
    await this.bankTap.start();
    this.bank = await startBankChild(
      bankEnv(this.dir, platform, {
        PUBLIC_URL: this.balancer.url,
        LOG_LEVEL: 'warn',
        BANK_NOTIFY_POLL_MS: '20',
        BANK_NOTIFY_SCALE: '0.1',
        BANK_PAYOUT_DELAY_MS: '100',
        BANK_PAYOUT_REVERSAL_MS: '500',
        BANK_PAYOUT_HANG_MS: '1500',
        BANK_PAYOUT_POLL_MS: '20',
        ...options.bankEnv,
      }),
    );
    const env = {
      DATABASE_URL: this.proxy ? this.proxy.url(this.databaseName) : this.directUrl,
      DATABASE_POOL_SIZE: '5',
      DATA_DIR: path.join(this.dir, 'coffer'),
      PUBLIC_URL: this.balancer.url,
      ADMIN_TOKEN,
      PLATFORM_NO,
      KEYS_DIR: path.dirname(platform.publicKeyPath),
      BANK_URL: this.bankTap.url,
      BANK_PUBLIC_URL: this.bank.url,
      BANK_PUBLIC_KEY_PATH: path.join(this.dir, 'bank', 'keys', 'bank-public.pem'),
      MERCHANT_SECRETS_KEY: randomBytes(32).toString('base64'),
      LEDGER_MONITOR_INTERVAL_S: '0',
      OUTBOX_POLL_INTERVAL_MS: '50',
      IDEMPOTENCY_LEASE_MS: '2000',
      PAYOUT_JOB_INTERVAL_MS: '100',
      PAYOUT_ORDER_TIMEOUT_MS: '1000',
      PAYOUT_QUERY_AFTER_MS: '500',
      PAYOUT_REVERSAL_QUERY_AFTER_MS: '1000',
      WEBHOOK_POLL_INTERVAL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '500',
      // A hold placed just before the database went away, whose payout was never saved (its void
      // failed too), is swept after this (600 s by default).
      PAYOUT_ORPHAN_HOLD_AFTER_S: '5',
      ...options.cofferEnv,
    };
    const names = Array.from({ length: options.processes }, (_, i) => String.fromCharCode(65 + i));
    this.processes.push(...(await Promise.all(names.map((name) => startCofferChild(`${options.label}-${name}`, env)))));
    this.admin = new Admin(this.balancer.url);
    const made = await fundedMerchant(this.admin, FUNDS);
    this.merchant = made.client;
    this.merchantId = made.merchant.merchantId;
    await createEndpoint(this.merchant, this.receiver.url(HOOK_PATH));
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.bank?.stop();
    await this.balancer.stop();
    await this.bankTap.stop();
    await this.receiver.stop();
    await this.proxy?.stop();
    await this.server?.remove();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** One read on its own connection, straight to the server (the test's view survives restarts and drops). */
  async query<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.directUrl });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * A payout as a careful merchant sends it: with an Idempotency-Key, again on a
   * 5xx or a lost connection until `giveUpAtMs`; a 409 for the order number names
   * the payout an earlier try made. Records the acknowledgement; answers whether there was one.
   */
  async sendPayout(merchantOrderNo: string, beneficiary: (typeof BENEFICIARIES)[number], giveUpAtMs: number): Promise<boolean> {
    const body = JSON.stringify({ merchantOrderNo, amount: AMOUNT, currency: 'CNY', beneficiary: { name: 'Li Lei', accountNo: beneficiary.accountNo, bankCode: 'ICBC' } });
    const headers = { 'idempotency-key': `idem-${merchantOrderNo}` };
    for (;;) {
      const response = await this.merchant
        .request<{ id?: string; code?: string; payoutId?: string }>('POST', '/v1/payouts', { body, headers })
        .catch(() => undefined);
      const key = response ? `${response.status}${response.body?.code ? ` ${response.body.code}` : ''}` : 'no answer';
      this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
      const payoutId = response?.status === 202 ? response.body.id : response?.status === 409 && response.body.code === 'DUPLICATE_MERCHANT_ORDER_NO' ? response.body.payoutId : undefined;
      if (payoutId) {
        this.acks.push({ merchantOrderNo, payoutId, expected: beneficiary.final });
        return true;
      }
      if (response && response.status < 500 && response.status !== 409 && response.status !== 429) {
        assert.fail(`payout ${merchantOrderNo} refused: ${response.status} ${JSON.stringify(response.body)}`);
      }
      if (Date.now() > giveUpAtMs) return false;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  /**
   * `workers` merchants' servers each sending payouts one after another until
   * `stop()` says so (then the ones under way finish, retrying until acknowledged).
   */
  load(prefix: string, workers: number, random: () => number): { stop(): Promise<number> } {
    let stopping = false;
    let sent = 0;
    const runs = Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; !stopping; i++) {
        const beneficiary = BENEFICIARIES[Math.floor(random() * BENEFICIARIES.length)]!;
        sent += 1;
        assert.ok(await this.sendPayout(`${prefix}-${w}-${i}`, beneficiary, Date.now() + 60_000), `${prefix}-${w}-${i} acknowledged within 60 s`);
      }
    });
    return {
      async stop() {
        stopping = true;
        await Promise.all(runs);
        return sent;
      },
    };
  }

  /** Polls /readyz on every process (directly, not through the balancer); answers the statuses each gave, in order. */
  watchReadiness(): { stop(): Promise<Map<string, number[]>> } {
    const seen = new Map(this.processes.map((p) => [p.name, [] as number[]]));
    let stopping = false;
    const runs = this.processes.map(async (p) => {
      while (!stopping) {
        const status = await fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
          (r) => r.status,
          () => 0,
        );
        const statuses = seen.get(p.name)!;
        if (statuses.at(-1) !== status) statuses.push(status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    return {
      async stop() {
        stopping = true;
        await Promise.all(runs);
        return seen;
      },
    };
  }

  /**
   * After the faults: every acknowledged payout is in the database once, under
   * the id Coffer answered, and reaches the final status its beneficiary gives;
   * nothing the merchant was not told about was left half-made; the bank holds
   * one payout per id; every outbox message is delivered, every webhook
   * DELIVERED, no hold is open; the balance is what the finals say; every
   * ledger invariant holds.
   */
  async assertEverythingSettled(timeoutMs: number): Promise<void> {
    const acks = new Map(this.acks.map((a) => [a.payoutId, a]));
    assert.equal(acks.size, this.acks.length, 'each payout id acknowledged for one order number');
    const open = async () =>
      (
        await this.query<{ payouts: number; outbox: number; deliveries: number; holds: number }>(
          `select (select count(*)::int4 from payouts where status not in ('SUCCEEDED', 'FAILED', 'REVERSED')) as payouts,
                  (select count(*)::int4 from outbox_messages where delivered_at is null) as outbox,
                  (select count(*)::int4 from webhook_deliveries where status <> 'DELIVERED') as deliveries,
                  (select count(*)::int4 from ledger_transfers where code = 'payout' and state = 'PENDING') as holds`,
        )
      )[0]!;
    const finalsAsExpected = async () => {
      const rows = await this.query<{ id: string; status: string }>('select id, status from payouts where id = any($1::text[])', [[...acks.keys()]]);
      return rows.length === acks.size && rows.every((row) => row.status === acks.get(row.id)!.expected);
    };
    await waitFor(
      'every acknowledged payout final, the outbox drained, every webhook delivered, no hold open',
      async () => {
        const left = await open();
        return left.payouts === 0 && left.outbox === 0 && left.deliveries === 0 && left.holds === 0 && (await finalsAsExpected());
      },
      timeoutMs,
    ).catch(async (err: unknown) => {
      const stuck = await this.query(
        `select p.id, p.status, p.error_code, p.dispatch_attempts,
                (select json_agg(json_build_object('id', t.id, 'kind', t.kind, 'state', t.state)) from ledger_transfers t where t.reference = p.id) as transfers
         from payouts p where p.status not in ('SUCCEEDED', 'FAILED', 'REVERSED')`,
      );
      const finals = await this.query<{ id: string; status: string }>('select id, status from payouts where id = any($1::text[])', [[...acks.keys()]]);
      const unexpected = [...acks.values()]
        .map((ack) => ({ id: ack.payoutId, expected: ack.expected, status: finals.find((row) => row.id === ack.payoutId)?.status ?? 'MISSING' }))
        .filter((row) => row.status !== row.expected);
      throw new Error(
        `${(err as Error).message}: still open ${JSON.stringify(await open())}; not final ${JSON.stringify(stuck)}; not as expected ${JSON.stringify(unexpected)}\n${this.logsOf([...stuck, ...unexpected].map((row) => String(row.id)))}`,
      );
    });

    const made = await this.query<{ id: string; merchant_order_no: string; status: string; amount_minor: string; fee_minor: string }>(
      'select id, merchant_order_no, status, amount_minor::text, fee_minor::text from payouts where merchant_id = $1',
      [this.merchantId],
    );
    for (const ack of this.acks) {
      const rows = made.filter((p) => p.merchant_order_no === ack.merchantOrderNo);
      assert.deepEqual(rows.map((p) => p.id), [ack.payoutId], `${ack.merchantOrderNo}: one payout, the one acknowledged`);
    }
    // Payouts made for requests whose answer never arrived (the client gave up) are allowed, final like the rest.
    const unacknowledged = made.filter((p) => !acks.has(p.id));
    assert.deepEqual(unacknowledged, [], 'no payout the merchant was not told about');

    await this.assertPaidOnceAtTheBank(made.map((p) => p.id));
    const expectedEvents = made.reduce((n, p) => n + (p.status === 'REVERSED' ? 2 : 1), 0);
    const recorded = await this.query<{ id: string }>('select id from webhook_deliveries where merchant_id = $1', [this.merchantId]);
    assert.equal(recorded.length, expectedEvents, 'a webhook delivery per final status');
    const received = new Set(this.receiver.at(HOOK_PATH).map((r) => r.headers['x-coffer-delivery']));
    for (const delivery of recorded) assert.ok(received.has(delivery.id), `${delivery.id} reached the merchant`);

    const spentMinor = made.filter((p) => p.status === 'SUCCEEDED').reduce((sum, p) => sum + BigInt(p.amount_minor) + BigInt(p.fee_minor), 0n);
    const balance = await balanceOf(this.merchant);
    assert.equal(balance.pendingDebits, '0.00', 'no hold left');
    assert.equal(minor(balance.balance), minor(FUNDS) - spentMinor, 'the balance is the funds less what was paid out');
    await assertInvariants(this.admin);
  }

  /**
   * The bank holds one payout per id, and Coffer never had two orders of one
   * payout out at once (a second only after the first was answered or timed out).
   */
  async assertPaidOnceAtTheBank(payoutIds: string[]): Promise<void> {
    const orders = new Map<string, { startedAtMs: number; endedAtMs: number }[]>();
    for (const exchange of this.bankTap.exchanges.filter((e) => e.path === '/payouts')) {
      const { payoutId } = JSON.parse((JSON.parse(exchange.body) as { reqData: string }).reqData) as { payoutId: string };
      orders.set(payoutId, [...(orders.get(payoutId) ?? []), exchange]);
    }
    for (const id of payoutIds) {
      const atBank = (await (await fetch(`${this.bank.url}/sandbox/payouts?payoutId=${id}`)).json()) as unknown[];
      assert.equal(atBank.length, 1, `one payout at the bank for ${id}`);
      const sent = (orders.get(id) ?? []).sort((a, b) => a.startedAtMs - b.startedAtMs);
      assert.ok(sent.length >= 1, `${id} was ordered`);
      for (let i = 1; i < sent.length; i++) {
        assert.ok(sent[i]!.startedAtMs >= sent[i - 1]!.endedAtMs, `${id}: a second order while the first was out: ${JSON.stringify(sent.map((o) => [o.startedAtMs, o.endedAtMs]))}\n${this.logsOf([id])}`);
      }
    }
  }

  /** What each process logged about these ids (for a failing check's message). */
  private logsOf(ids: string[]): string {
    return this.processes.map((p) => `--- ${p.name}\n${p.output().split('\n').filter((line) => ids.some((id) => line.includes(id))).join('\n')}`).join('\n');
  }

  /** How many payout orders reached the bank (re-sends included). */
  ordersSent(): number {
    return this.bankTap.exchanges.filter((e) => e.path === '/payouts').length;
  }
}

function minor(amount: string): bigint {
  const [units, fraction = ''] = amount.split('.');
  return BigInt(units!) * 100n + BigInt(fraction.padEnd(2, '0'));
}

/**
 * Three Coffer server processes on one PostgreSQL database, behind a
 * round-robin balancer, with the real bank simulator process: payouts,
 * their webhooks and funding transfers (the bank's notifications) spread over
 * all three happen exactly once; then one process is killed with SIGKILL in
 * the middle of a burst, and another in the middle of a payout batch's
 * release, and the others take their work over within the leases.
 * PostgreSQL server only: the embedded store is one process by construction.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { GatewayRequest } from '../../src/protocol/depository.ts';
import { atTheBank, bankEnv, newCardNumber, platformKeys, PLATFORM_NO, registrationFields, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { newMobile, startBankChild, type BankChild } from '../browser/support.ts';
import { ADMIN_TOKEN, Admin, type MerchantClient } from '../merchants/support.ts';
import { assertInvariants, balanceOf, fundedMerchant, type PayoutView } from '../payouts/support.ts';
import { createServerDatabase, postgresUnavailable } from '../support/stores.ts';
import { callJson } from '../support/http.ts';
import { batchMerchant, csvOf, decide, uploaded } from '../payout-batches/support.ts';
import { createEndpoint, deliveries, Receiver, waitFor } from '../webhooks/support.ts';
import { type CofferChild, RoundRobinBalancer, startCofferChild } from './support.ts';

const reason = await postgresUnavailable();
if (reason && process.env.CI) throw new Error(`${reason}; CI must run the PostgreSQL suites`);
if (reason) console.warn(`\n!!! SKIPPING the many-processes suite: ${reason}\n`);

/** Short leases and intervals so a dead process's work comes round in seconds. */
const LEASES = {
  OUTBOX_LEASE_MS: '2000',
  OUTBOX_POLL_INTERVAL_MS: '50',
  IDEMPOTENCY_LEASE_MS: '2000',
  PAYOUT_ORDER_TIMEOUT_MS: '1000', // dispatch lease: 2 x this
  PAYOUT_QUERY_AFTER_MS: '500',
  PAYOUT_REVERSAL_QUERY_AFTER_MS: '1000',
  PAYOUT_JOB_INTERVAL_MS: '100',
  PAYOUT_BATCH_LEASE_MS: '2000',
  WEBHOOK_TIMEOUT_MS: '2000', // delivery lease: 2 x this + 5 s
  WEBHOOK_POLL_INTERVAL_MS: '100',
  WEBHOOK_RETRY_BASE_MS: '500',
  // a hold placed by a process killed before it saved the payout is voided after this (swept every 2.5 s)
  PAYOUT_ORPHAN_HOLD_AFTER_S: '5',
};
/** The longest lease above (a webhook delivery's, 9 s) plus time to finish the work. */
const TAKEOVER_BOUND_MS = 20_000;
/** The merchant's receiver is slow, so a killed process is likely to be holding attempts under way. */
const WEBHOOK_ANSWER_MS = 500;

/** Sandbox beneficiaries (SPEC 5) and the status each ends in. */
const BENEFICIARIES = [
  { accountNo: '6222000011112222', final: 'SUCCEEDED', events: 1 },
  { accountNo: '6222000011110002', final: 'FAILED', events: 1 },
  { accountNo: '6222000011110003', final: 'REVERSED', events: 2 },
  { accountNo: '6222000011110004', final: 'SUCCEEDED', events: 1 },
] as const;

describe('three Coffer processes on one PostgreSQL database', { skip: reason ? `SKIPPED: ${reason}` : false }, () => {
  const receiver = new Receiver();
  const processes: CofferChild[] = [];
  const balancer = new RoundRobinBalancer(() => processes.filter((p) => p.alive()).map((p) => p.url));
  /** Between Coffer and the bank: every order Coffer sends, with when it was out. */
  const bankTap = new RoundRobinBalancer(() => [bank.url]);
  let dir: string;
  let bank: BankChild;
  let database: Awaited<ReturnType<typeof createServerDatabase>>;
  let sqlClient: pg.Client;
  let admin: Admin;

  before(async () => {
    dir = tempDir('scale');
    const platform = platformKeys(dir);
    seedBankKeys(dir);
    database = await createServerDatabase();
    await receiver.start();
    await balancer.start();
    await bankTap.start();
    bank = await startBankChild(
      bankEnv(dir, platform, {
        PUBLIC_URL: balancer.url, // the bank notifies the balancer, as it would a load-balanced Coffer
        LOG_LEVEL: 'warn',
        BANK_NOTIFY_POLL_MS: '20',
        BANK_NOTIFY_SCALE: '1',
        BANK_PAYOUT_DELAY_MS: '100',
        BANK_PAYOUT_REVERSAL_MS: '500',
        BANK_PAYOUT_HANG_MS: '1500',
        BANK_PAYOUT_POLL_MS: '20',
      }),
    );
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '5',
      DATA_DIR: path.join(dir, 'coffer'),
      PUBLIC_URL: balancer.url,
      ADMIN_TOKEN,
      PLATFORM_NO,
      KEYS_DIR: path.dirname(platform.publicKeyPath),
      BANK_URL: bankTap.url,
      BANK_PUBLIC_URL: bank.url,
      BANK_PUBLIC_KEY_PATH: path.join(dir, 'bank', 'keys', 'bank-public.pem'),
      // one key for every process: each must open the webhook secrets another sealed
      MERCHANT_SECRETS_KEY: randomBytes(32).toString('base64'),
      LEDGER_MONITOR_INTERVAL_S: '0',
      ...LEASES,
    };
    // All three at once: they also race to migrate the empty database.
    processes.push(...(await Promise.all(['A', 'B', 'C'].map((name) => startCofferChild(name, env)))));
    sqlClient = new pg.Client({ connectionString: database.url });
    await sqlClient.connect();
    admin = new Admin(balancer.url);
  });

  after(async () => {
    await sqlClient?.end();
    await Promise.all(processes.map((p) => p.stop()));
    await bank?.stop();
    await balancer.stop();
    await bankTap.stop();
    await receiver.stop();
    await database?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function merchantWithEndpointAndAccount(label: string) {
    const made = await fundedMerchant(admin, '100000.00');
    const hookPath = `/hooks/${label}`;
    receiver.script(hookPath, [], { kind: 'slow', delayMs: WEBHOOK_ANSWER_MS, status: 200 });
    await createEndpoint(made.client, receiver.url(hookPath));
    const account = await admin.ok<{ accountNo: string }>('POST', `/admin/merchants/${made.merchant.merchantId}/settlement-accounts`, { currency: 'CNY' }, 200);
    return { ...made, hookPath, accountNo: account.accountNo };
  }

  test('a burst spread over the three: one order per payout at the bank, each webhook as scheduled, each transfer credited once', async () => {
    const m = await merchantWithEndpointAndAccount('burst');
    const [payouts, transferNos] = await Promise.all([payoutBurst(m.client, 'BURST', 24), wireBurst(bank.url, m.accountNo, 10)]);

    const finals = await waitForFinals(m.client, payouts);
    await assertExactlyOnce(m, finals, transferNos, false);
  });

  test('recharges confirmed at the bank, notified (some twice) through the balancer: each credited once, whichever process hears it', async () => {
    await bankFaults({ duplicateNextNotifications: 4 });
    const users = await Promise.all([1, 2, 3].map(() => depositoryUser()));
    const requestNos = await Promise.all(users.map((user) => rechargeThrice(user)));
    for (const [i, user] of users.entries()) {
      await waitFor('the recharges credited', async () => (await user.call('GET', '/my/wallets')).body[0]?.balance === '30.00', 30_000);
      const records = (await user.call('GET', '/my/recharge-records?limit=100')).body.data as { requestNo: string; status: string }[];
      assert.deepEqual(records.map((r) => r.status), ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      assert.deepEqual(new Set(records.map((r) => r.requestNo)), new Set(requestNos[i]));
    }
    const notified = balancer.exchanges.filter((e) => e.path.startsWith('/gateway?serviceName=RECHARGE'));
    assert.ok(notified.length > 9, `every recharge notified, some twice (${notified.length})`);
    assert.ok(new Set(notified.map((e) => e.backend)).size > 1, 'heard by more than one process');
    await assertInvariants(admin);
  });

  test('kill -9 of one process mid-burst: the others take its work over within the leases, exactly once', async () => {
    const m = await merchantWithEndpointAndAccount('kill');
    const victim = processes[1]!;
    const burst = Promise.all([payoutBurst(m.client, 'KILL', 30), wireBurst(bank.url, m.accountNo, 10)]);
    await waitFor('webhook attempts under way', async () => (await inFlightAt(victim)).deliveries >= 6, 30_000);
    const held = await inFlightAt(victim);
    const killedAt = Date.now();
    await victim.kill();
    const [payouts, transferNos] = await burst;

    const finals = await waitForFinals(m.client, payouts);
    await waitUntilQuiet(m.merchant.merchantId);
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `[scale] killed ${victim.name} (it held ${held.outbox} outbox leases; ${held.deliveries} webhook attempts and ${held.orders} payouts were under way on all processes);` +
        ` everything final and delivered ${takeoverMs} ms later; ${await unrecordedAttempts(m.merchant.merchantId)} attempts of the dead process taken over`,
    );
    assert.ok(takeoverMs < TAKEOVER_BOUND_MS, `taken over in ${takeoverMs} ms (bound ${TAKEOVER_BOUND_MS} ms)`);
    await assertExactlyOnce(m, finals, transferNos, true);
  });

  test('kill -9 of one process while a payout batch is being released: every row becomes one payout, the batch is processed', async () => {
    const m = await batchMerchant(admin, '100000.00');
    const lines = 200;
    const csv = csvOf(Array.from({ length: lines }, (_, i) => `ROW-${i},1.00,CNY,Li Lei,6222000011112222,ICBC,`));
    const batch = await uploaded(m.maker, csv);
    assert.equal((await decide(m.checker, batch.id, 'approve')).status, 200);
    await waitFor('the release under way', () => rowsPast(batch.id, 'PENDING', 20), 30_000);
    const victim = processes[2]!;
    const killedAt = Date.now();
    await victim.kill();

    // the dead process's rows come back after PAYOUT_BATCH_LEASE_MS; the rest is the volume of work on a busy machine
    await waitFor('the batch PROCESSED', () => batchIs(batch.id, 'PROCESSED'), 60_000);
    await waitUntilQuiet(m.merchantId);
    const { rows } = await sqlClient.query<{ status: string; payout_id: string; attempts: number }>(
      'select status, payout_id, attempts from payout_batch_rows where batch_id = $1',
      [batch.id],
    );
    const takenOver = rows.filter((r) => r.attempts > 1).length;
    console.log(`[scale] killed ${victim.name} mid-release; batch processed and quiet ${Date.now() - killedAt} ms later (${takenOver} rows claimed again)`);
    assert.deepEqual([...new Set(rows.map((r) => r.status))], ['SUCCEEDED'], 'every row paid');
    assert.equal(new Set(rows.map((r) => r.payout_id)).size, lines, 'a payout per row');
    const { rows: made } = await sqlClient.query<{ id: string }>('select id from payouts where merchant_id = $1', [m.merchantId]);
    assert.equal(made.length, lines, 'no row paid twice');
    assertOrdersNeverOverlap(made);
    await assertOneOrderAtTheBank(made);
    assert.equal((await balanceOf(m.maker)).pendingDebits, '0.00', 'no hold left');
    await assertInvariants(admin);
  });

  async function bankFaults(faults: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${bank.url}/sandbox/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
    assert.equal(response.status, 200, await response.text());
  }

  /** A user with an opened depository account (the bank's hosted page filled in), logged in through the balancer. */
  async function depositoryUser(): Promise<UserClient> {
    const mobile = newMobile();
    const anonymous = new UserClient(balancer.url, '');
    assert.equal((await anonymous.call('POST', '/auth/register', { mobile, password: USER_PASSWORD })).status, 201);
    const user = new UserClient(balancer.url, (await anonymous.call('POST', '/auth/login', { mobile, password: USER_PASSWORD })).body.token);
    const opening = (await user.call('POST', '/my/depository-accounts', { callbackUrl: CALLBACK_URL })).body as GatewayRequest;
    await atTheBank(opening, registrationFields(newCardNumber()));
    // The opening's card is written in the transaction that marks the account OPENED (the wallet comes before it).
    await waitFor('the account opened', async () => ((await user.call('GET', '/my/cards')).body.length > 0 ? true : undefined), 30_000);
    return user;
  }

  async function rechargeThrice(user: UserClient): Promise<string[]> {
    const requestNos: string[] = [];
    for (let i = 0; i < 3; i++) {
      const gateway = (await user.call('POST', '/my/recharge-records', { amount: '10.00', callbackUrl: CALLBACK_URL })).body as GatewayRequest;
      requestNos.push((JSON.parse(gateway.reqData) as { requestNo: string }).requestNo);
      await atTheBank(gateway, { password: registrationFields('').password! });
    }
    return requestNos;
  }

  /** What was under way when `coffer` was killed (for the log: where a kill lands is timing). */
  async function inFlightAt(coffer: CofferChild): Promise<{ outbox: number; deliveries: number; orders: number }> {
    const { rows } = await sqlClient.query<{ outbox: number; deliveries: number; orders: number }>(
      `select (select count(*)::int4 from outbox_messages where delivered_at is null and locked_by like '%:' || $1 || ':%') as outbox,
              (select count(*)::int4 from webhook_deliveries where leased_until > now()) as deliveries,
              (select count(*)::int4 from payouts where status in ('ACCEPTED', 'PROCESSING')) as orders`,
      [String(coffer.pid)],
    );
    return rows[0]!;
  }

  /** Attempts counted by a claim but never recorded: their holder died, the next attempt took over. */
  async function unrecordedAttempts(merchantId: string): Promise<number> {
    const { rows } = await sqlClient.query<{ n: number }>(
      `select coalesce(sum(d.attempt_count - (select count(*) from webhook_attempts a where a.delivery_id = d.id)), 0)::int4 as n
       from webhook_deliveries d where d.merchant_id = $1`,
      [merchantId],
    );
    return rows[0]!.n;
  }

  async function rowsPast(batchId: string, status: string, atLeast: number): Promise<boolean> {
    const { rows } = await sqlClient.query<{ n: number }>('select count(*)::int4 as n from payout_batch_rows where batch_id = $1 and status <> $2', [batchId, status]);
    return rows[0]!.n >= atLeast;
  }

  async function batchIs(batchId: string, status: string): Promise<boolean> {
    const { rows } = await sqlClient.query<{ status: string }>('select status from payout_batches where id = $1', [batchId]);
    return rows[0]?.status === status;
  }

  async function assertOneOrderAtTheBank(payouts: { id: string }[]): Promise<void> {
    for (const payout of payouts) {
      const atBank = (await (await fetch(`${bank.url}/sandbox/payouts?payoutId=${payout.id}`)).json()) as unknown[];
      assert.equal(atBank.length, 1, `one order at the bank for ${payout.id}`);
    }
  }

  /** Payouts sent at once through the balancer, the sandbox beneficiaries in turn; answers them as accepted. */
  function payoutBurst(client: MerchantClient, prefix: string, count: number): Promise<{ id: string; expected: (typeof BENEFICIARIES)[number] }[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const expected = BENEFICIARIES[i % BENEFICIARIES.length]!;
        const body = { merchantOrderNo: `${prefix}-${i}`, amount: '10.00', currency: 'CNY', beneficiary: { name: 'Li Lei', accountNo: expected.accountNo, bankCode: 'ICBC' } };
        return { id: await acceptWithRetries(client, body), expected };
      }),
    );
  }

  /** Waits (reading the database: polling the signed API would walk the client's timestamps ahead) until each payout is in its final status. */
  async function waitForFinals(client: MerchantClient, payouts: { id: string; expected: { final: string } }[]): Promise<PayoutView[]> {
    const expected = new Map(payouts.map((p) => [p.id, p.expected.final]));
    await waitFor('every payout in its final status', async () => {
      const { rows } = await sqlClient.query<{ id: string; status: string }>('select id, status from payouts where id = any($1::text[])', [[...expected.keys()]]);
      return rows.length === expected.size && rows.every((row) => row.status === expected.get(row.id));
    }, TAKEOVER_BOUND_MS + 10_000);
    const listed = await client.request<{ data: PayoutView[] }>('GET', '/v1/payouts?limit=100');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const finals = listed.body.data.filter((p) => expected.has(p.id));
    assert.equal(finals.length, expected.size);
    return finals;
  }

  /** Nothing left to do: outbox drained, no delivery waiting, no payout hold open. */
  async function waitUntilQuiet(merchantId: string): Promise<void> {
    const open = async () => {
      const { rows } = await sqlClient.query<{ outbox: number; deliveries: number; holds: number }>(
        `select (select count(*)::int4 from outbox_messages where delivered_at is null) as outbox,
                (select count(*)::int4 from webhook_deliveries where merchant_id = $1 and status <> 'DELIVERED') as deliveries,
                (select count(*)::int4 from ledger_transfers where code = 'payout' and state = 'PENDING') as holds`,
        [merchantId],
      );
      return rows[0]!;
    };
    await waitFor('every outbox message delivered, every webhook DELIVERED, every hold settled', async () => {
      const left = await open();
      return left.outbox === 0 && left.deliveries === 0 && left.holds === 0;
    }, TAKEOVER_BOUND_MS + 10_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: still open ${JSON.stringify(await open())}`);
    });
  }

  async function assertExactlyOnce(
    m: Awaited<ReturnType<typeof merchantWithEndpointAndAccount>>,
    finals: PayoutView[],
    transferNos: string[],
    holderKilled: boolean,
  ): Promise<void> {
    await waitUntilQuiet(m.merchant.merchantId);
    await assertOneOrderAtTheBank(finals);
    const { rows: made } = await sqlClient.query<{ n: number }>('select count(*)::int4 as n from payouts where merchant_id = $1', [m.merchant.merchantId]);
    assert.equal(made[0]!.n, finals.length, 'no payout made twice');
    // After a kill -9 the survivors run on a starved machine: a live process whose event loop lags
    // past its dispatch lease can still be waiting on an order when another process re-sends it.
    // The bank pays a payout id once (assertOneOrderAtTheBank); the strict no-overlap check holds
    // for the runs without a kill.
    if (!holderKilled) assertOrdersNeverOverlap(finals);
    await assertWebhooksAsScheduled(m.client, m.hookPath, finals, holderKilled);
    // each wired transfer credited once
    const { rows: credited } = await sqlClient.query<{ n: number }>('select count(*)::int4 as n from ledger_transfers where id = any($1::text[])', [
      transferNos.map((no) => `funding:${no}`),
    ]);
    assert.equal(credited[0]!.n, transferNos.length, 'every transfer credited, once');
    // the books: nothing held, the balance what the finals and transfers say
    const spent = finals.filter((p) => p.status === 'SUCCEEDED').reduce((sum, p) => sum + cents(p.amount) + cents(p.fee), 0n);
    const balance = await balanceOf(m.client);
    assert.equal(balance.pendingDebits, '0.00', 'no hold left');
    assert.equal(cents(balance.balance), cents('100000.00') + BigInt(transferNos.length) * cents('10.00') - spent);
    await assertInvariants(admin);
  }

  /**
   * Each payout's orders as the bank received them: at least one, and never two
   * out at once (a second only after the first was answered or timed out: the
   * outcome was unknown and a query found no order at the bank, or its holder died).
   */
  function assertOrdersNeverOverlap(finals: { id: string }[]): void {
    const orders = new Map<string, { startedAtMs: number; endedAtMs: number }[]>();
    for (const exchange of bankTap.exchanges.filter((e) => e.path === '/payouts')) {
      const { payoutId } = JSON.parse((JSON.parse(exchange.body) as { reqData: string }).reqData) as { payoutId: string };
      orders.set(payoutId, [...(orders.get(payoutId) ?? []), exchange]);
    }
    for (const payout of finals) {
      const sent = (orders.get(payout.id) ?? []).sort((a, b) => a.startedAtMs - b.startedAtMs);
      assert.ok(sent.length >= 1, `${payout.id} was sent`);
      for (let i = 1; i < sent.length; i++) {
        assert.ok(sent[i]!.startedAtMs >= sent[i - 1]!.endedAtMs, `${payout.id}: a second order while the first was out`);
      }
    }
  }

  /**
   * A delivery per final status, each DELIVERED; the receiver got exactly the
   * attempts Coffer recorded (a failed one, e.g. a time-out on a busy machine,
   * is retried as the schedule says), plus at most the unrecorded attempt of a
   * killed holder; and never a second attempt while one was under way.
   */
  async function assertWebhooksAsScheduled(client: MerchantClient, hookPath: string, finals: PayoutView[], holderKilled: boolean): Promise<void> {
    const expectedEvents = finals.reduce((sum, p) => sum + BENEFICIARIES.find((b) => b.accountNo === p.beneficiary.accountNo)!.events, 0);
    const recorded = await deliveries(client, '?limit=100');
    assert.equal(recorded.length, expectedEvents, 'a delivery per final status');
    const arrivals = new Map<string, number[]>();
    for (const request of receiver.at(hookPath)) {
      const id = request.headers['x-coffer-delivery'] as string;
      arrivals.set(id, [...(arrivals.get(id) ?? []), request.atMs]);
    }
    for (const delivery of recorded) {
      assert.equal(delivery.status, 'DELIVERED');
      const received = arrivals.get(delivery.id) ?? [];
      const failed = delivery.attempts.filter((a) => a.httpStatus !== 200).length;
      assert.equal(delivery.attempts.length - failed, 1, `${delivery.id}: one successful attempt recorded`);
      const allowed = holderKilled ? delivery.attemptCount : delivery.attempts.length;
      assert.ok(received.length >= 1 && received.length <= allowed, `${delivery.id}: received ${received.length}, attempts ${JSON.stringify(delivery.attempts)}`);
      for (let i = 1; i < received.length; i++) {
        assert.ok(received[i]! - received[i - 1]! >= WEBHOOK_ANSWER_MS, `${delivery.id}: a second attempt while the first was under way`);
      }
    }
  }

});

const USER_PASSWORD = 'Scale-pass-1';
const CALLBACK_URL = 'http://localhost/ui/records';

/** A wallet user's JSON calls with their bearer token (any process accepts it: sessions live in the database). */
class UserClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  call(method: string, route: string, body?: unknown) {
    return callJson(`${this.base}${route}`, method, body, this.token || undefined);
  }
}

/**
 * A careful merchant: POST with an Idempotency-Key, and again on a 5xx or a lost
 * connection (the process it reached died); a duplicate order number names the
 * payout an earlier try made. Answers the payout id.
 */
async function acceptWithRetries(client: MerchantClient, body: { merchantOrderNo: string }): Promise<string> {
  const headers = { 'idempotency-key': `idem-${body.merchantOrderNo}` };
  for (let attempt = 1; ; attempt++) {
    const response = await client
      .request<{ id?: string; code?: string; payoutId?: string }>('POST', '/v1/payouts', { body: JSON.stringify(body), headers })
      .catch(() => undefined);
    if (response?.status === 202) return response.body.id!;
    if (response?.status === 409 && response.body.code === 'DUPLICATE_MERCHANT_ORDER_NO') return response.body.payoutId!;
    assert.ok(attempt < 60, `payout ${body.merchantOrderNo}: ${response?.status} ${JSON.stringify(response?.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Someone wires 10.00 to the account `count` times at once; the bank notifies Coffer (through the balancer). */
async function wireBurst(bankUrl: string, payeeAccountNo: string, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(`${bankUrl}/sandbox/transfers-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payeeAccountNo, amount: '10.00', currency: 'CNY', payerName: 'Acme Holdings' }),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { transferNo: string }).transferNo;
    }),
  );
}

function cents(amount: string): bigint {
  const [units, fraction = ''] = amount.split('.');
  return BigInt(units!) * 100n + BigInt(fraction.padEnd(2, '0'));
}

/**
 * Payment core benchmark: `npm run bench:payments [-- --quick] [--store=pglite|postgres]`.
 *
 * A real Coffer server (in this process, real HTTP) and the real bank
 * simulator as its own process with its card payment channels. Each payment
 * is created in-process (as a business module does), then paid the way a
 * user pays: `POST /my/payments/{no}/sms` with a coupon (routing between
 * QP_ALPHA and QP_BETA by weight, the channel texts its code), the code read
 * from the channels' SMS sink, `POST .../confirm` (coupon lock, CONFIRM at the
 * channel, ledger transfers, coupon consumed, PAYMENT_FINAL). CONCURRENCY
 * payments are in flight at once. Prints one JSON line per store: confirmed
 * payments per second, p50/p99 of a payment's own latency (sms + confirm, not
 * the code lookup, which stands in for the user reading a text), Coffer's
 * statements per payment on the PostgreSQL server, and the cost
 * of one routing decision on the pure router (µs; 3 and 50 channels).
 * The clients run in this process too, so they share Coffer's event loop:
 * the figures are a floor. The embedded store always runs; the PostgreSQL
 * server when DATABASE_URL is set (a scratch database is made and dropped).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import pg from 'pg';
import type { StoreKind } from '../src/platform/db/store.ts';
import { type RoutableChannel, route } from '../src/modules/payments/payments.routing.ts';
import { seededRandom } from '../src/platform/random.ts';

if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
const { PaymentsRig } = await import('../test/payments/support.ts');

// Statements this process sends to the PostgreSQL server (Coffer's pool; the simulator is another process).
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements += 1;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

const quick = process.argv.includes('--quick');
const PAYMENTS = quick ? 200 : 1_000;
const PAYERS = 40;
const CONCURRENCY = 16;
const ROUTING_DECISIONS = quick ? 100_000 : 1_000_000;

async function main(): Promise<void> {
  const only = process.argv.find((arg) => arg.startsWith('--store='))?.slice('--store='.length);
  const stores: StoreKind[] = ['pglite'];
  if (process.env.DATABASE_URL) stores.push('postgres');
  else if (only === 'postgres') throw new Error('--store=postgres needs DATABASE_URL (a PostgreSQL server to make a scratch database in)');
  else console.error('# DATABASE_URL is not set: only the embedded store is measured');
  const routing = routingCost();
  for (const kind of stores.filter((kind) => !only || kind === only)) await runStore(kind, routing);
}

/** µs per decision of the pure router (eligibility of every channel, the weighted draw, the fallback order). */
function routingCost(): { routingUsPerDecision3: number; routingUsPerDecision50: number } {
  const channel = (i: number): RoutableChannel => ({
    code: `CH_${i}`,
    kind: i % 3 === 2 ? 'DIRECT_DEBIT' : 'QUICK_PAY',
    methods: [i % 3 === 2 ? 'DIRECT_DEBIT' : 'QUICK_PAY'],
    banks: i % 4 === 0 ? ['ICBC', 'CMB'] : null,
    currencies: ['CNY', 'USD', 'EUR'],
    minAmountMinor: 1n,
    maxAmountMinor: 5_000_000n,
    priority: 10 + (i % 3),
    weight: 10 + i,
    enabled: i % 7 !== 6,
    circuit: i % 11 === 10 ? 'OPEN' : 'CLOSED',
  });
  const request = { method: 'QUICK_PAY' as const, currency: 'CNY', bankCode: 'ICBC', amountMinor: 10_000n };
  const cost = (count: number) => {
    const channels = Array.from({ length: count }, (_, i) => channel(i));
    const random = seededRandom(1);
    let chosen = 0;
    for (let i = 0; i < 10_000; i++) chosen += route(channels, request, random).order.length; // warm-up
    const started = process.hrtime.bigint();
    for (let i = 0; i < ROUTING_DECISIONS; i++) chosen += route(channels, request, random).order.length;
    const ns = Number(process.hrtime.bigint() - started);
    assert.ok(chosen > 0);
    return round(ns / ROUTING_DECISIONS / 1000, 3);
  };
  return { routingUsPerDecision3: cost(3), routingUsPerDecision50: cost(50) };
}

async function runStore(kind: StoreKind, routing: object): Promise<void> {
  // Production-like cadence: the jobs only recover; nothing here should need them.
  const rig = await PaymentsRig.start(kind, {
    PAYMENT_CHANNEL_TIMEOUT_MS: '10000',
    PAYMENT_CONFIRM_LEASE_MS: '30000',
    PAYMENT_QUERY_RETRY_MS: '5000',
    PAYMENT_JOB_INTERVAL_MS: '1000',
    PAYMENT_CIRCUIT_FAILURES: '5',
    OUTBOX_POLL_INTERVAL_MS: '250',
  });
  try {
    const payers: Awaited<ReturnType<typeof rig.payer>>[] = [];
    for (let i = 0; i < PAYERS; i++) payers.push(await rig.payer());
    const work: { payer: (typeof payers)[number]; couponId: string; payOrderNo: string }[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const payer = payers[i % PAYERS]!;
      const coupon = await rig.issueCoupon(payer, '1.00', '50.00');
      work.push({ payer, couponId: coupon.id, payOrderNo: await rig.createPayment(payer, 10_000n) });
    }
    const latencies: number[] = [];
    const statementsBefore = statements;
    const smsMs: number[] = [];
    const confirmMs: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < work.length; i = next++) {
          const { payer, couponId, payOrderNo } = work[i]!;
          const t0 = performance.now();
          const sent = await rig.sms(payer, payOrderNo, { couponId });
          const t1 = performance.now();
          assert.equal(sent.status, 200, JSON.stringify(sent.body));
          const code = await rig.channelCodeFor(payOrderNo, payer.mobile);
          const t2 = performance.now();
          const paid = await rig.confirm(payer, payOrderNo, code);
          const t3 = performance.now();
          latencies.push(t1 - t0 + (t3 - t2));
          smsMs.push(t1 - t0);
          confirmMs.push(t3 - t2);
          assert.equal(paid.body.status, 'SUCCESS', JSON.stringify(paid.body));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    // The test client's own code lookups read one row each; everything else is Coffer's.
    const statementsPerPayment = (statements - statementsBefore - PAYMENTS) / PAYMENTS;
    const byChannel = new Map<string, number>();
    for (const decision of (await rig.adminOk<{ data: { chosen?: string }[] }>('GET', '/admin/routing-decisions?limit=100')).data) {
      byChannel.set(decision.chosen ?? 'none', (byChannel.get(decision.chosen ?? 'none') ?? 0) + 1);
    }
    await rig.assertInvariants();
    const pct = (p: number, of = latencies) => {
      const sorted = [...of].sort((a, b) => a - b);
      return round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
    };
    console.log(
      JSON.stringify({
        bench: 'payments',
        store: kind,
        channels: 'bank simulator child process',
        payments: PAYMENTS,
        concurrency: CONCURRENCY,
        confirmedPerSec: round(PAYMENTS / seconds, 1),
        paymentP50Ms: pct(50),
        paymentP99Ms: pct(99),
        smsP50Ms: pct(50, smsMs),
        confirmP50Ms: pct(50, confirmMs),
        ...(kind === 'postgres' ? { statementsPerPayment: round(statementsPerPayment) } : {}),
        lastHundredRoutedTo: Object.fromEntries(byChannel),
        ...routing,
        loadAverage: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      }),
    );
  } finally {
    await rig.close();
  }
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

await main();

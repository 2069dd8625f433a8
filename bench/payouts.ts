/**
 * Single payout benchmark: `npm run bench:payouts [-- --quick] [--store=pglite|postgres]`.
 * A real Coffer server (in this process, real HTTP) and the real bank simulator
 * (in process, its own embedded store, payout processing 50 ms). One merchant's
 * server sends signed `POST /v1/payouts` with CONCURRENCY requests in flight;
 * "accepted" is a 202. Then it waits until every payout is final (dispatched,
 * notified, holds posted). Prints one JSON line per store: accepted/s with p50/p99
 * latency, and the time from the first request until all were final.
 * `--bank-down` points Coffer at a closed port: acceptance alone (orders are
 * still signed and retried in the background, as they would be). The
 * embedded store always runs; the PostgreSQL server when DATABASE_URL is set.
 * Coffer and the simulator share this process's event loop: every payout costs
 * RSA-3072 signatures on both sides, so this is a floor, not a ceiling.
 *
 * `--batch`: batch payouts instead. One file of BATCH_ROWS rows is uploaded
 * (signed text/csv) and approved by a checker key; prints the upload time,
 * rows/s from approval until every row has its payout (released), and rows/s
 * from approval until the batch is PROCESSED (every payout final), with
 * PAYOUT_BATCH_CONCURRENCY rows handed to payouts at once (default 16).
 */
import assert from 'node:assert/strict';
import type { StoreKind } from '../src/platform/db/store.ts';

if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
const { createBooks, fundedMerchant, payoutBody, postPayout, startRig } = await import('../test/payouts/support.ts');
const batches = await import('../test/payout-batches/support.ts');

const quick = process.argv.includes('--quick');
const PAYOUTS = quick ? 500 : 3_000;
const CONCURRENCY = 32;
const BATCH_ROWS = quick ? 300 : 2_000;

async function main(): Promise<void> {
  const only = process.argv.find((arg) => arg.startsWith('--store='))?.slice('--store='.length);
  const stores: StoreKind[] = ['pglite'];
  if (process.env.DATABASE_URL) stores.push('postgres');
  else console.error('# DATABASE_URL is not set: only the embedded store is measured');
  const run = process.argv.includes('--batch') ? runBatch : runStore;
  for (const kind of stores.filter((kind) => !only || kind === only)) await run(kind);
}

async function runStore(kind: StoreKind): Promise<void> {
  const books = await createBooks(kind);
  // Production-like cadence: acceptance wakes the dispatcher, the jobs only retry.
  const bankDown = process.argv.includes('--bank-down');
  const rig = await startRig(
    books,
    {
      ...(bankDown ? { BANK_URL: 'http://127.0.0.1:9' } : {}),
      PAYOUT_ORDER_TIMEOUT_MS: '10000',
      PAYOUT_QUERY_AFTER_MS: '30000',
      PAYOUT_JOB_INTERVAL_MS: '1000',
      OUTBOX_POLL_INTERVAL_MS: '250',
    },
    { BANK_PAYOUT_POLL_MS: '100', BANK_NOTIFY_POLL_MS: '100' },
  );
  try {
    const { client } = await fundedMerchant(rig.admin, '100000000.00');
    const latenciesMs: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const i = next++;
          if (i >= PAYOUTS) return;
          const t0 = performance.now();
          const answer = await postPayout(client, payoutBody(`bench-${i}`, '6222000011112222', '10.00'));
          latenciesMs.push(performance.now() - t0);
          assert.equal(answer.status, 202, JSON.stringify(answer.body));
        }
      }),
    );
    const acceptSeconds = (performance.now() - started) / 1000;
    for (; !bankDown; ) {
      const open = await Promise.all(
        ['ACCEPTED', 'PROCESSING'].map(async (status) => (await client.request<{ data: unknown[] }>('GET', `/v1/payouts?status=${status}&limit=1`)).body.data.length),
      );
      if (open.every((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const allFinalSeconds = (performance.now() - started) / 1000;
    latenciesMs.sort((a, b) => a - b);
    const pct = (p: number) => round(latenciesMs[Math.min(latenciesMs.length - 1, Math.floor((p / 100) * latenciesMs.length))]!);
    console.log(
      JSON.stringify({
        bench: 'payouts',
        store: kind,
        payouts: PAYOUTS,
        concurrency: CONCURRENCY,
        acceptedPerSec: Math.round(PAYOUTS / acceptSeconds),
        acceptP50Ms: pct(50),
        acceptP99Ms: pct(99),
        allFinalSeconds: round(allFinalSeconds),
        finalPerSec: Math.round(PAYOUTS / allFinalSeconds),
      }),
    );
  } finally {
    await rig.close();
    await books.dispose();
  }
}

async function runBatch(kind: StoreKind): Promise<void> {
  const books = await createBooks(kind);
  const rig = await startRig(
    books,
    { PAYOUT_ORDER_TIMEOUT_MS: '10000', PAYOUT_QUERY_AFTER_MS: '30000', PAYOUT_JOB_INTERVAL_MS: '1000', OUTBOX_POLL_INTERVAL_MS: '250' },
    { BANK_PAYOUT_POLL_MS: '100', BANK_NOTIFY_POLL_MS: '100' },
  );
  try {
    const m = await batches.batchMerchant(rig.admin, '100000000.00');
    const csv = batches.csvOf(Array.from({ length: BATCH_ROWS }, (_, i) => `bench-${i},10.00,CNY,Li Lei,6222000011112222,ICBC,`));
    const uploadStarted = performance.now();
    const batch = await batches.uploaded(m.maker, csv);
    const uploadSeconds = (performance.now() - uploadStarted) / 1000;
    const approved = performance.now();
    const answer = await batches.decide(m.checker, batch.id, 'approve');
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    let releasedSeconds: number | undefined;
    for (;;) {
      const now = await batches.getBatch(m.maker, batch.id);
      if (releasedSeconds === undefined && now.rows.PENDING.count === 0) releasedSeconds = (performance.now() - approved) / 1000;
      if (now.status === 'PROCESSED') {
        assert.equal(now.rows.SUCCEEDED.count, BATCH_ROWS, JSON.stringify(now.rows));
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const processedSeconds = (performance.now() - approved) / 1000;
    console.log(
      JSON.stringify({
        bench: 'payout-batches',
        store: kind,
        rows: BATCH_ROWS,
        releaseConcurrency: Number(process.env.PAYOUT_BATCH_CONCURRENCY ?? 16),
        uploadSeconds: round(uploadSeconds),
        releasedSeconds: round(releasedSeconds!),
        releasedRowsPerSec: Math.round(BATCH_ROWS / releasedSeconds!),
        processedSeconds: round(processedSeconds),
        processedRowsPerSec: Math.round(BATCH_ROWS / processedSeconds),
      }),
    );
  } finally {
    await rig.close();
    await books.dispose();
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

await main();

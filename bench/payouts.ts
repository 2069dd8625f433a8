/**
 * Single payout benchmark: `npm run bench:payouts [-- --quick] [--store=pglite|postgres] [--bank-down] [--stages] [--profile] [--no-dispatch]`.
 * A real Coffer server (in this process, real HTTP), the real bank simulator
 * (its own process and embedded store, payout processing 50 ms) and one
 * merchant's servers (a worker thread, bench/merchant-load.mjs) sending signed
 * `POST /v1/payouts` with CONCURRENCY requests in flight over keep-alive
 * connections; the requests are signed up front, so only Coffer's work runs on
 * Coffer's event loop. "Accepted" is a 202. Then it waits until every payout is
 * final (dispatched, notified, holds posted). Prints one JSON line per store:
 * accepted/s with p50/p99 latency, Coffer's own CPU per accepted payout (its
 * main thread only: the CPU it spends however busy the machine is), the
 * statements it sent and the local PostgreSQL server's CPU per payout, and the
 * time until all were final. `--stages` adds the mean wall time of each step of
 * an acceptance; `--profile` writes a CPU profile of the timed part to .tmp/.
 * `--bank-down` runs no bank and points Coffer at a closed port: acceptance
 * alone (orders are still signed and retried in the background, as they would
 * be). The embedded store always runs; the PostgreSQL server when DATABASE_URL
 * is set (a scratch database is created there and dropped afterwards).
 *
 * `--batch`: batch payouts instead. One file of BATCH_ROWS rows is uploaded
 * (signed text/csv) and approved by a checker key; prints the upload time,
 * rows/s from approval until every row has its payout (released), and rows/s
 * from approval until the batch is PROCESSED (every payout final), with
 * PAYOUT_BATCH_CONCURRENCY rows handed to payouts at once (default 16).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import pg from 'pg';
import type { StoreKind } from '../src/platform/db/store.ts';
import { signMerchantRequest } from '../src/modules/merchants/merchants.signing.ts';
import { loadAverage, loadWorker, localPostgresCpuMs, mainThreadCpuMs, mainThreadSysCpuMs, percentile, startProfiler } from './measure.ts';

if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
const { Admin, createBooks, fundedMerchant, payoutBody, PLATFORM_NO, startRig } = await import('../test/payouts/support.ts');
const batches = await import('../test/payout-batches/support.ts');
const { bankEnv, platformKeys, seedBankKeys, tempDir } = await import('../test/bank-simulator/support.ts');
const { freePort, startBankChild } = await import('../test/browser/support.ts');
const { startServer } = await import('../test/merchants/support.ts');

// Statements sent to the PostgreSQL server by this process (Coffer's pool), for round trips per payout.
let statements = 0;
const sqlCount = new Map<string, number>();
process.on('exit', () => { if (process.env.BENCH_SQL) for (const [t, n] of [...sqlCount].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.error(n, t); });
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements += 1;
  if (process.env.BENCH_SQL) { const t = String((args[0] as { text?: string })?.text ?? args[0]).replace(/\s+/g, ' ').slice(0, 90); sqlCount.set(t, (sqlCount.get(t) ?? 0) + 1); }
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

// `--stages`: the mean wall time each step of an acceptance takes (queueing for its group included).
const stageMs = new Map<string, { total: number; count: number }>();
if (process.argv.includes('--stages')) {
  const { MerchantsService } = await import('../src/modules/merchants/index.ts');
  const { RiskService } = await import('../src/modules/risk/index.ts');
  const { LedgerService } = await import('../src/modules/ledger/index.ts');
  const { PayoutsService } = await import('../src/modules/payouts/index.ts');
  const timed = (name: string, proto: object, method: string) => {
    const target = proto as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = target[method]!;
    target[method] = async function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        const stage = stageMs.get(name) ?? { total: 0, count: 0 };
        stage.total += performance.now() - t0;
        stage.count += 1;
        stageMs.set(name, stage);
      }
    };
  };
  timed('1 signature + replay guard', MerchantsService.prototype, 'verifySignedRequest');
  timed('2 merchant read (assertCanUse)', MerchantsService.prototype, 'assertCanUse');
  timed('3 risk decision', RiskService.prototype, 'assess');
  timed('4 holds (ledger)', LedgerService.prototype, 'linkedTransfers');
  timed('all of accept (2-4 + duplicate read + record)', PayoutsService.prototype, 'accept');
}

// `--no-dispatch` (with --bank-down): the dispatcher claims nothing, so no order is signed or sent: what
// acceptance alone costs, against the dispatcher's share (its claims, the RSA signature on the pool, the fetch).
const noDispatch = process.argv.includes('--no-dispatch');
if (noDispatch) {
  const { PayoutsService } = await import('../src/modules/payouts/index.ts');
  (PayoutsService.prototype as unknown as { dispatchDue: () => Promise<number> }).dispatchDue = async () => 0;
}
const quick = process.argv.includes('--quick');
const bankDown = process.argv.includes('--bank-down');
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
  const dir = tempDir('bench-payouts');
  const platform = platformKeys(dir); // dir/platform-keys: Coffer's KEYS_DIR
  seedBankKeys(dir);
  const bank = bankDown
    ? undefined
    : await startBankChild(
        bankEnv(dir, platform, {
          LOG_LEVEL: 'silent',
          BANK_PAYOUT_DELAY_MS: '50',
          BANK_PAYOUT_REVERSAL_MS: '400',
          BANK_PAYOUT_HANG_MS: '3000',
          BANK_PAYOUT_POLL_MS: '100',
          BANK_NOTIFY_POLL_MS: '100',
        }),
      );
  const port = await freePort();
  const coffer = await startServer(books, {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    KEYS_DIR: path.dirname(platform.publicKeyPath),
    PLATFORM_NO,
    // A port nothing listens on (refused: the orders stay ACCEPTED). Not port 9: fetch refuses it as a "bad port"
    // without connecting, an unknown outcome that moved every payout to PROCESSING, one UPDATE each.
    BANK_URL: bank?.url ?? `http://127.0.0.1:${await freePort()}`,
    BANK_PUBLIC_KEY_PATH: path.join(dir, 'bank', 'keys', 'bank-public.pem'),
    // Production-like cadence: acceptance wakes the dispatcher, the jobs only retry.
    PAYOUT_ORDER_TIMEOUT_MS: '10000',
    PAYOUT_QUERY_AFTER_MS: '30000',
    PAYOUT_JOB_INTERVAL_MS: '1000',
    OUTBOX_POLL_INTERVAL_MS: '250',
  });
  try {
    const admin = new Admin(coffer.url);
    const { client, key } = await fundedMerchant(admin, '100000000.00');
    const requests = Array.from({ length: PAYOUTS }, (_, i) => {
      const body = JSON.stringify(payoutBody(`bench-${i}`, '6222000011112222', '10.00'));
      const auth = signMerchantRequest({ keyId: key.keyId, secret: key.secret, method: 'POST', path: '/v1/payouts', body });
      return { method: 'POST', path: '/v1/payouts', headers: { ...auth, 'content-type': 'application/json' }, body };
    });
    const profiler = await startProfiler();
    const merchant = await loadWorker(new URL('./merchant-load.mjs', import.meta.url), { port, requests, concurrency: CONCURRENCY, expectStatus: 202 });
    const started = performance.now();
    const cpuBefore = mainThreadCpuMs();
    const sysBefore = mainThreadSysCpuMs();
    const postgresBefore = localPostgresCpuMs();
    const statementsBefore = statements;
    stageMs.clear();
    const load = await merchant.go();
    const stages = Object.fromEntries([...stageMs].sort().map(([name, { total, count }]) => [name, round(total / count)]));
    const acceptStatements = (statements - statementsBefore) / PAYOUTS;
    const acceptSeconds = load.elapsedMs / 1000;
    const acceptCpuUs = ((mainThreadCpuMs() - cpuBefore) * 1000) / PAYOUTS;
    const acceptSysCpuUs = ((mainThreadSysCpuMs() - sysBefore) * 1000) / PAYOUTS;
    const acceptPostgresCpuUs = ((localPostgresCpuMs() - postgresBefore) * 1000) / PAYOUTS;
    await profiler?.stop(`payouts-${kind}${bankDown ? '-bank-down' : ''}`);
    for (; bank; ) {
      const open = await Promise.all(
        ['ACCEPTED', 'PROCESSING'].map(async (status) => (await client.request<{ data: unknown[] }>('GET', `/v1/payouts?status=${status}&limit=1`)).body.data.length),
      );
      if (open.every((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const allFinalSeconds = (performance.now() - started) / 1000;
    const finalCpuUs = ((mainThreadCpuMs() - cpuBefore) * 1000) / PAYOUTS;
    const latencies = load.latencies.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'payouts',
        store: kind,
        bank: bank ? 'child process' : 'down',
        ...(noDispatch ? { dispatch: 'off' } : {}),
        payouts: PAYOUTS,
        concurrency: CONCURRENCY,
        acceptedPerSec: Math.round(PAYOUTS / acceptSeconds),
        acceptP50Ms: percentile(latencies, 50),
        acceptP99Ms: percentile(latencies, 99),
        cofferCpuUsPerAccepted: Math.round(acceptCpuUs),
        cofferKernelCpuUsPerAccepted: Math.round(acceptSysCpuUs),
        ...(kind === 'postgres' ? { statementsPerAccepted: round(acceptStatements) } : {}),
        ...(kind === 'postgres' && acceptPostgresCpuUs > 0 ? { localPostgresCpuUsPerAccepted: Math.round(acceptPostgresCpuUs) } : {}),
        ...(bank ? { allFinalSeconds: round(allFinalSeconds), finalPerSec: Math.round(PAYOUTS / allFinalSeconds), cofferCpuUsPerFinal: Math.round(finalCpuUs) } : {}),
        ...(Object.keys(stages).length > 0 ? { stageMeanMs: stages } : {}),
        loadAverage: loadAverage(),
      }),
    );
  } finally {
    await coffer.close();
    await bank?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
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

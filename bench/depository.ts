/**
 * Depository notification benchmark: `npm run bench:depository [-- --quick] [--store=pglite|postgres] [--profile]`.
 * A real Coffer server (in this process, real HTTP) receives bank-signed RECHARGE
 * notifications on GET /gateway; "applied" means the wallet was credited (the
 * outbox consumer ran). Prints one JSON line per store, plus the RSA verify cost
 * alone. The embedded store always runs; the PostgreSQL server when DATABASE_URL
 * is set (a scratch database is created there and dropped afterwards).
 */
import assert from 'node:assert/strict';
import type { GatewayRequest } from '../src/protocol/depository.ts';
import { signText, verifyText } from '../src/protocol/depository.ts';
import type { StoreKind } from '../src/platform/db/store.ts';
import { inParallel, loadWorker, localPostgresCpuMs, mainThreadCpuMs, percentile, startProfiler } from './measure.ts';

if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
const { createBooks } = await import('../test/ledger-http/support.ts');
const { Api, bankNotificationPath, createKeys, eventually, requestDataOf, startServer } = await import('../test/depository/support.ts');

const quick = process.argv.includes('--quick');
const USERS = 20;
const NOTIFICATIONS = quick ? 1_000 : 5_000;
const CONCURRENCY = 32;
const AMOUNT = '10.00';

async function main(): Promise<void> {
  measureVerify();
  const only = process.argv.find((arg) => arg.startsWith('--store='))?.slice('--store='.length);
  const stores: StoreKind[] = ['pglite'];
  if (process.env.DATABASE_URL) stores.push('postgres');
  else console.error('# DATABASE_URL is not set: only the embedded store is measured');
  for (const kind of stores.filter((kind) => !only || kind === only)) await runStore(kind);
}

function measureVerify(): void {
  const keys = createKeys();
  try {
    const reqData = JSON.stringify({ requestNo: 'REQ1', serviceName: 'RECHARGE', status: 'SUCCESS', amount: AMOUNT });
    const signature = signText(reqData, keys.bank.privateKey);
    const rounds = 5_000;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) if (!verifyText(reqData, signature, keys.bank.publicKey)) throw new Error('verify failed');
    const perVerifyUs = ((performance.now() - started) * 1000) / rounds;
    console.log(JSON.stringify({ bench: 'depository', part: 'rsa-verify', keyBits: 3072, verifiesPerSec: Math.round(1e6 / perVerifyUs), usPerVerify: round(perVerifyUs) }));
  } finally {
    keys.dispose();
  }
}

async function runStore(kind: StoreKind): Promise<void> {
  const books = await createBooks(kind);
  const keys = createKeys();
  const coffer = await startServer(books, keys, 'http://127.0.0.1:9', {
    // Production defaults: settlements nudge the relay, so it needs no fast polling.
    OUTBOX_POLL_INTERVAL_MS: '250',
    DEPOSITORY_QUERY_AFTER_S: '3600',
    DEPOSITORY_QUERY_INTERVAL_MS: '10000',
  });
  try {
    const api = new Api(coffer.url, keys.bank);
    const users = await Promise.all(Array.from({ length: USERS }, () => api.newUser()));
    await Promise.all(users.map(async (user) => {
      const opening = await api.gateway(user, '/my/depository-accounts', { callbackUrl: 'https://coffer.test.example/ui/done' });
      await api.notifyResult(opening, { status: 'SUCCESS', cardNumberMasked: '6222********1234', bankCode: 'ICBC' });
    }));
    await eventually(async () => {
      for (const user of users) if (!(await api.wallet(user))) throw new Error('wallet not open yet');
    });
    const requests: { user: (typeof users)[number]; gateway: GatewayRequest }[] = [];
    await inParallel(NOTIFICATIONS, CONCURRENCY, async (i) => {
      const user = users[i % USERS]!;
      requests[i] = { user, gateway: await api.gateway(user, '/my/recharge-records', { amount: AMOUNT, callbackUrl: 'https://coffer.test.example/ui/done' }) };
    });

    // Signed up front, as the bank would have, and sent from another thread (bench/bank-load.mjs)
    // over keep-alive connections: only Coffer's work runs on Coffer's event loop.
    const paths = requests.map(({ gateway }) => bankNotificationPath(gateway, { status: 'SUCCESS' }, keys.bank.privateKey));
    const profiler = await startProfiler();
    const bank = await loadWorker(new URL('./bank-load.mjs', import.meta.url), { port: Number(new URL(coffer.url).port), paths, concurrency: CONCURRENCY });
    const started = performance.now();
    const cpuBefore = mainThreadCpuMs();
    const postgresBefore = localPostgresCpuMs();
    const load = await bank.go();
    const acknowledgedS = load.elapsedMs / 1000;
    // Applied = the depository clearing account (debited once per recharge) shows them all;
    // one cheap read per poll, so the polling does not slow what it measures.
    const firstRecharge = await eventually(async () => {
      const reply = await api.admin<{ debitAccountId: string }>('GET', `/admin/ledger/transfers/recharge:${requestDataOf(requests[0]!.gateway).requestNo}`);
      if (reply.status !== 200) throw new Error(`first recharge not applied yet (${reply.status})`);
      return reply.body;
    }, 120_000);
    const clearingBalance = `-${NOTIFICATIONS * 10}.00`;
    await eventually(async () => {
      const clearing = await api.admin<{ balance: string }>('GET', `/admin/ledger/accounts/${firstRecharge.debitAccountId}`);
      if (clearing.body.balance !== clearingBalance) throw new Error(`clearing at ${clearing.body.balance}, expected ${clearingBalance}`);
    }, 120_000);
    const appliedS = (performance.now() - started) / 1000;
    // CPU time of Coffer's thread per notification: what the server itself spends, however busy the machine.
    const cofferCpuUs = ((mainThreadCpuMs() - cpuBefore) * 1000) / NOTIFICATIONS;
    const postgresCpuUs = ((localPostgresCpuMs() - postgresBefore) * 1000) / NOTIFICATIONS;
    await profiler?.stop(`depository-${kind}`);
    const perUser = `${(NOTIFICATIONS / USERS) * 10}.00`;
    for (const user of users) assert.equal((await api.wallet(user))?.balance, perUser, 'each wallet holds exactly its recharges');
    await api.invariantsHold();
    const latencies = load.latencies.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'depository',
        store: kind,
        notifications: NOTIFICATIONS,
        concurrency: CONCURRENCY,
        acknowledgedPerSec: Math.round(NOTIFICATIONS / acknowledgedS),
        appliedPerSec: Math.round(NOTIFICATIONS / appliedS),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        cofferCpuUsPerNotification: Math.round(cofferCpuUs),
        ...(kind === 'postgres' && postgresCpuUs > 0 ? { localPostgresCpuUsPerNotification: Math.round(postgresCpuUs) } : {}),
      }),
    );
  } finally {
    await coffer.close();
    keys.dispose();
    await books.dispose();
  }
}


function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

await main();

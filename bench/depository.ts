/**
 * Depository notification benchmark: `npm run bench:depository [-- --quick] [--store=pglite|postgres] [--profile]`.
 * A real Coffer server (in this process, real HTTP) receives bank-signed RECHARGE
 * notifications on GET /gateway; "applied" means the wallet was credited (the
 * outbox consumer ran). Prints one JSON line per store, plus the RSA verify cost
 * alone. The embedded store always runs; the PostgreSQL server when DATABASE_URL
 * is set (a scratch database is created there and dropped afterwards).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { GatewayRequest } from '../src/protocol/depository.ts';
import { signText, verifyText } from '../src/protocol/depository.ts';
import type { StoreKind } from '../src/platform/db/store.ts';

if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
const { createBooks } = await import('../test/ledger-http/support.ts');
const { Api, bankResult, createKeys, eventually, PLATFORM_NO, startServer } = await import('../test/depository/support.ts');

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
    OUTBOX_POLL_INTERVAL_MS: '5',
    DEPOSITORY_QUERY_AFTER_S: '3600',
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

    // Signed up front, as the bank would have: only Coffer's work is timed.
    const notifications = requests.map(({ gateway }) => {
      const reqData = JSON.stringify(bankResult(gateway, { status: 'SUCCESS' }));
      return { serviceName: gateway.serviceName, platformNo: PLATFORM_NO, reqData, signature: signText(reqData, keys.bank.privateKey) };
    });
    const latencies: number[] = [];
    const profiler = await startProfiler();
    const started = performance.now();
    await inParallel(NOTIFICATIONS, CONCURRENCY, async (i) => {
      const t0 = performance.now();
      const reply = await api.notify(notifications[i]!);
      if (reply.status !== 200 || reply.text !== 'OK') throw new Error(`notification answered ${reply.status}: ${reply.text}`);
      latencies.push(performance.now() - t0);
    });
    const acknowledgedS = (performance.now() - started) / 1000;
    const perUser = (NOTIFICATIONS / USERS) * 10;
    await eventually(async () => {
      for (const user of users) {
        const wallet = await api.wallet(user);
        if (wallet?.balance !== `${perUser}.00`) throw new Error(`wallet at ${wallet?.balance}, expected ${perUser}.00`);
      }
    }, 120_000);
    const appliedS = (performance.now() - started) / 1000;
    await profiler?.stop(`depository-${kind}`);
    await api.invariantsHold();
    latencies.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'depository',
        store: kind,
        notifications: NOTIFICATIONS,
        concurrency: CONCURRENCY,
        acknowledgedPerSec: Math.round(NOTIFICATIONS / acknowledgedS),
        appliedPerSec: Math.round(NOTIFICATIONS / appliedS),
        p50Ms: round(latencies[Math.floor(latencies.length * 0.5)]!),
        p99Ms: round(latencies[Math.floor(latencies.length * 0.99)]!),
      }),
    );
  } finally {
    await coffer.close();
    keys.dispose();
    await books.dispose();
  }
}

/** `--profile`: a CPU profile of the timed part only, written to .tmp/ for Chrome DevTools or speedscope. */
async function startProfiler(): Promise<{ stop(name: string): Promise<void> } | undefined> {
  if (!process.argv.includes('--profile')) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await session.post('Profiler.stop');
      fs.mkdirSync('.tmp', { recursive: true });
      const file = `.tmp/${name}-${Date.now()}.cpuprofile`;
      fs.writeFileSync(file, JSON.stringify(profile));
      console.error(`# CPU profile of the timed part: ${file}`);
      session.disconnect();
    },
  };
}

async function inParallel(count: number, lanes: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < count) await work(next++);
  }));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

await main();

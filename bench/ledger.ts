/**
 * Ledger throughput benchmark: `npm run bench:ledger [-- --quick] [-- --only=postgres]`.
 * Prints one JSON line per scenario. The embedded store always runs; the PostgreSQL
 * server runs when DATABASE_URL is set (a scratch database is created on that server
 * and dropped afterwards, so no existing data is touched).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { LedgerService, type Account } from '../src/modules/ledger/index.ts';
import { SystemClock } from '../src/platform/clock.ts';
import { migrateToLatest, openStore, type Store, type StoreKind } from '../src/platform/db/store.ts';
import { migrations } from '../src/migrations.ts';

type Workload = 'random' | 'hot';
type Mode = 'single' | 'group';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const ACCOUNTS = 1000;
/** Requests each client keeps outstanding in group mode (a client's pipeline depth). */
const GROUP_WINDOW = Number(process.env.BENCH_WINDOW ?? 64);

interface Scenario {
  workload: Workload;
  mode: Mode;
  clients: number;
}

async function main(): Promise<void> {
  const stores: StoreKind[] = ['pglite'];
  if (process.env.DATABASE_URL) stores.push('postgres');
  else console.error('# DATABASE_URL is not set: only the embedded store is measured');
  for (const kind of stores.filter((k) => !only || k === only)) {
    const scenarios: Scenario[] = [];
    for (const workload of ['random', 'hot'] as const)
      for (const mode of ['single', 'group'] as const)
        for (const clients of [2, 8]) scenarios.push({ workload, mode, clients });
    for (const scenario of scenarios) await runScenario(kind, scenario);
  }
}

async function runScenario(kind: StoreKind, scenario: Scenario): Promise<void> {
  const scratch = await openScratch(kind);
  try {
    const ledger = new LedgerService({
      db: scratch.store.db,
      clock: new SystemClock(),
      writer: { mode: scenario.mode, maxBatchSize: 2000, concurrency: kind === 'postgres' ? Number(process.env.LEDGER_BATCH_CONCURRENCY ?? 2) : 1 },
    });
    const { users, hot } = await setUp(ledger);
    const perClient = transfersPerClient(kind, scenario);
    const warmUp = Math.ceil(perClient / 5);
    let counter = 0;
    const nextTransfer = () => {
      const n = counter++;
      const debit = users[randomIndex(users.length)]!;
      let credit = scenario.workload === 'hot' ? hot : users[randomIndex(users.length)]!;
      if (credit.id === debit.id) credit = users[(users.indexOf(debit) + 1) % users.length]!;
      return ledger.transfer({
        id: `bench-${n}`,
        debitAccountId: debit.id,
        creditAccountId: credit.id,
        amountMinor: BigInt(1 + randomIndex(100)),
        currency: 'CNY',
        code: 'transfer',
      });
    };
    const window = scenario.mode === 'group' ? GROUP_WINDOW : 1;
    await drive(scenario.clients, window, warmUp, nextTransfer);
    const latencies: number[] = [];
    const started = performance.now();
    await drive(scenario.clients, window, perClient, nextTransfer, latencies);
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const report = await ledger.checkInvariants();
    if (!report.ok) throw new Error(`invariants broken after ${kind} ${JSON.stringify(scenario)}`);
    console.log(
      JSON.stringify({
        bench: 'ledger',
        store: kind,
        workload: scenario.workload,
        mode: scenario.mode,
        clients: scenario.clients,
        window,
        transfers: latencies.length,
        transfersPerSec: Math.round(latencies.length / seconds),
        p50Ms: round(percentile(latencies, 0.5)),
        p99Ms: round(percentile(latencies, 0.99)),
      }),
    );
  } finally {
    await scratch.close();
  }
}

function transfersPerClient(kind: StoreKind, { mode, clients }: Scenario): number {
  const total = mode === 'group' ? (kind === 'postgres' ? 120_000 : 60_000) : kind === 'postgres' ? 16_000 : 8_000;
  return Math.ceil((quick ? total / 8 : total) / clients);
}

/** Each client keeps `window` transfers outstanding until it has sent `count`. */
async function drive(
  clients: number,
  window: number,
  count: number,
  next: () => Promise<unknown>,
  latencies?: number[],
): Promise<void> {
  const client = async () => {
    let sent = 0;
    const lane = async () => {
      while (sent < count) {
        sent++;
        const t0 = performance.now();
        await next();
        latencies?.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  };
  await Promise.all(Array.from({ length: clients }, client));
}

async function setUp(ledger: LedgerService): Promise<{ users: Account[]; hot: Account }> {
  const funding = await ledger.platformAccount('PLATFORM_FUNDING', 'CNY');
  const hot = await ledger.platformAccount('DEPOSITORY_CLEARING', 'CNY');
  const users: Account[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    users.push(await ledger.openAccount({ ownerKind: 'USER', ownerId: `bench-user-${i}`, type: 'WALLET', currency: 'CNY' }));
  }
  await Promise.all(
    users.map((user, i) =>
      ledger.transfer({ id: `fund-${i}`, debitAccountId: funding.id, creditAccountId: user.id, amountMinor: 100_000_000n, currency: 'CNY', code: 'adjustment' }),
    ),
  );
  return { users, hot };
}

async function openScratch(kind: StoreKind): Promise<{ store: Store; close(): Promise<void> }> {
  if (kind === 'pglite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-'));
    const store = await openStore({ dataDir });
    await migrateToLatest(store, migrations);
    return { store, close: async () => { await store.close(); fs.rmSync(dataDir, { recursive: true, force: true }); } };
  }
  const server = process.env.DATABASE_URL!;
  const name = `coffer_bench_${process.pid}_${Date.now()}`;
  await adminQuery(server, `create database ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const store = await openStore({ databaseUrl: url.toString(), poolSize: 20 });
  await migrateToLatest(store, migrations);
  return { store, close: async () => { await store.close(); await adminQuery(server, `drop database ${name} with (force)`); } };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

await main();

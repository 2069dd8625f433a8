/**
 * End-to-end load benchmark: `npm run bench:e2e [-- --quick] [--duration=S] [--processes=1,2,4] [--concurrency=C] [--keep] [--chart-only]`.
 *
 * 1, 2 and 4 Coffer server processes (`node src/main.ts`, each its own OS process,
 * test/scale/support.ts) on one fresh PostgreSQL database on the local server. A
 * load generator in its own process (bench/e2e-load.ts) keeps CONCURRENCY requests
 * in flight over keep-alive connections spread evenly over the processes (no
 * balancer: lane i talks to process i mod N), for a fixed duration per workload:
 *
 * 1. recharges: the bank's signed RECHARGE notifications (`GET /gateway?...`),
 *    signed up front with the bank key the processes trust; acknowledged/s is
 *    the `OK` answers, applied/s counts until every acknowledged one is credited
 *    to its wallet (the depository clearing account says so).
 * 2. payouts: signed `POST /v1/payouts` (202 = accepted) from one funded merchant;
 *    the bank is a stub in this process that answers every order with a signed
 *    SUCCEEDED at once, so each payout goes final and nothing is left to retry.
 * 3. reads: `GET /my/wallets` with the users' tokens.
 *
 * After each run: `ledger:check` against the database (printed) and exact counts
 * (every acknowledged recharge credited once, every accepted payout saved once and
 * ordered once). Prints a table; writes docs/bench-e2e.json and docs/bench-e2e.svg.
 */
import assert from 'node:assert/strict';
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrations } from '../src/migrations.ts';
import { migrateToLatest, openStore } from '../src/platform/db/store.ts';
import { ensureKeyPair, type KeyPair, loadPublicKey, signTextOffThread, verifyText } from '../src/protocol/depository.ts';
import { platformKeys, seedBankKeys, tempDir } from '../test/bank-simulator/support.ts';
import { ADMIN_TOKEN, Api, bankResult, gatewayNotificationPath, openUserAccount, PLATFORM_NO, requestDataOf, type TestUser } from '../test/depository/support.ts';
import { Admin, balanceOf, fundedMerchant, MerchantClient } from '../test/payouts/support.ts';
import { type CofferChild, startCofferChild } from '../test/scale/support.ts';
import { createServerDatabase, postgresUnavailable } from '../test/support/stores.ts';
import { throughputChart } from './e2e-chart.ts';
import type { LoadResult, LoadRun, Workload } from './e2e-load.ts';
import { inParallel, loadAverage, percentile, processCpuMs } from './measure.ts';

const option = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const DURATION_S = Number(option('duration') ?? (quick ? 5 : 20));
const PROCESS_COUNTS = (option('processes') ?? '1,2,4').split(',').map(Number);
const CONCURRENCY = Number(option('concurrency') ?? 32);
const USERS = quick ? 16 : 64;
/**
 * Recharge records made (PENDING, through the API) before each recharge run: the
 * bank can only notify requests that exist. Each costs two RSA-3072 signatures
 * (Coffer's request, the bank's notification), so the pool is sized for about
 * this many notifications a second; a run that empties it stops early (printed).
 */
const RECHARGE_POOL_PER_S = Number(option('recharge-pool-per-s') ?? 300);
const AMOUNT = '10.00';
/** The fee fundedMerchant's rule charges a 10.00 payout: 1.00 + 0.5 %, at least 1.50. */
const PAYOUT_FEE = '1.50';
const MERCHANT_FUNDS = '100000000.00';
const CALLBACK_URL = 'https://coffer.bench.example/ui/done';

const DOCS = new URL('../docs/', import.meta.url);
const minor = (decimal: string) => BigInt(decimal.replace('.', ''));
const round1 = (n: number) => Math.round(n * 10) / 10;

interface RunFigures {
  processes: number;
  workload: 'recharges' | 'payouts' | 'reads';
  durationS: number;
  sent: number;
  ok: number;
  errors: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** recharges: until every acknowledged one is credited; payouts: until every accepted one is final. */
  appliedPerSec?: number;
  finalPerSec?: number;
  poolExhausted?: boolean;
  /**
   * CPU per successful request, µs: all Coffer processes; the PostgreSQL backends serving this database (the
   * server's WAL writer and checkpointer not included); the load generator; this process (the stub bank).
   */
  cpuUsPerOk: { coffer: number; postgres: number; loadGenerator: number; bench: number };
  /** Share of the machine's CPU (all cores) busy with the above during the timed part. */
  machineBusy: number;
  loadAverage: string;
  ledgerCheck: string;
}

/** The bank's payout channel, stubbed: every verified order is answered with a signed SUCCEEDED at once. */
class StubBank {
  readonly orders = new Map<string, number>();
  private server: http.Server | undefined;
  url = '';

  constructor(
    private readonly bank: KeyPair,
    private readonly platformPublicKeyPath: string,
  ) {}

  async start(): Promise<void> {
    const platformKey = loadPublicKey(this.platformPublicKeyPath);
    this.server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        const message = req.method === 'POST' && req.url === '/payouts' ? (JSON.parse(text) as { reqData: string; signature: string }) : undefined;
        if (!message || !verifyText(message.reqData, message.signature, platformKey)) {
          res.writeHead(message ? 401 : 404).end();
          return;
        }
        const order = JSON.parse(message.reqData) as { payoutId: string; amount: string; currency: string };
        this.orders.set(order.payoutId, (this.orders.get(order.payoutId) ?? 0) + 1);
        const reqData = JSON.stringify({
          payoutId: order.payoutId,
          status: 'SUCCEEDED',
          amount: order.amount,
          currency: order.currency,
          channelRef: `STUB-${order.payoutId}`,
          timestamp: new Date().toISOString(),
        });
        void signTextOffThread(reqData, this.bank.privateKey).then((signature) =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ reqData, signature })),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The load generator process; `run` hands it one workload and waits for its figures. */
function startLoadGenerator() {
  const child = fork(new URL('./e2e-load.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'] });
  return {
    pid: child.pid!,
    run(load: LoadRun): Promise<LoadResult> {
      return new Promise((resolve, reject) => {
        child.once('message', (reply: LoadResult | { error: string }) => ('error' in reply ? reject(new Error(reply.error)) : resolve(reply)));
        child.send(load);
      });
    },
    stop: () => child.kill(),
  };
}

async function ledgerCheck(databaseUrl: string): Promise<string> {
  const started = performance.now();
  const script = new URL('../src/cli/ledger-check.ts', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`ledger:check failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  });
  const checks = stdout.split('\n').filter((line) => line.startsWith('ok  ')).length;
  assert.match(stdout, /All ledger invariants hold\./);
  return `ledger:check: all ${checks} invariants hold (${round1((performance.now() - started) / 1000)} s)`;
}

async function main(): Promise<void> {
  const unavailable = await postgresUnavailable();
  if (unavailable) throw new Error(`bench:e2e needs the PostgreSQL server: ${unavailable}`);
  const dir = tempDir('bench-e2e');
  const platform = platformKeys(dir);
  seedBankKeys(dir);
  const bankKeys = ensureKeyPair(path.join(dir, 'bank', 'keys'), 'bank');
  const stubBank = new StubBank(bankKeys, platform.publicKeyPath);
  await stubBank.start();
  const database = await createServerDatabase();
  const store = await openStore({ databaseUrl: database.url, poolSize: 2 });
  await migrateToLatest(store, migrations);
  await store.close();
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const loadGenerator = startLoadGenerator();
  const env = {
    DATABASE_URL: database.url,
    DATA_DIR: path.join(dir, 'coffer'),
    PUBLIC_URL: 'http://coffer.bench.invalid',
    ADMIN_TOKEN,
    PLATFORM_NO,
    KEYS_DIR: path.dirname(platform.publicKeyPath),
    BANK_URL: stubBank.url,
    BANK_PUBLIC_KEY_PATH: bankKeys.publicKeyPath,
    MERCHANT_SECRETS_KEY: randomBytes(32).toString('base64'),
    // Checked after each run instead; the monitor would run the same reads mid-run in every process.
    LEDGER_MONITOR_INTERVAL_S: '0',
    // PENDING records waiting in the pool are neither queried at the bank nor expired during the bench.
    DEPOSITORY_QUERY_AFTER_S: '7200',
    DEPOSITORY_REQUEST_TTL_S: '7200',
  };
  console.error(`# bench:e2e: ${PROCESS_COUNTS.join(', ')} processes, ${DURATION_S} s per workload, ${CONCURRENCY} in flight; database ${new URL(database.url).pathname.slice(1)}; load ${loadAverage()}`);

  const figures: RunFigures[] = [];
  let users: TestUser[] = [];
  /** PENDING recharge records with their signed notifications, not sent yet (a run's leftovers serve the next). */
  const records: { user: TestUser; requestNo: string; path: string }[] = [];
  let merchant: Awaited<ReturnType<typeof fundedMerchant>> | undefined;
  /** Per user, recharges acknowledged so far (all runs); and payouts final so far. */
  const rechargedPerUser = new Map<string, number>();
  let rechargedTotal = 0;
  let payoutsSucceeded = 0;
  try {
    for (const n of PROCESS_COUNTS) {
      const processes: CofferChild[] = await Promise.all(Array.from({ length: n }, (_, i) => startCofferChild(`coffer-${i + 1}`, env)));
      try {
        const targets = processes.map((p) => p.url);
        const apis = targets.map((url) => new Api(url, bankKeys));
        if (users.length === 0) {
          const seeded = performance.now();
          users = new Array(USERS);
          await inParallel(USERS, 8, async (i) => void (users[i] = await openUserAccount(apis[i % n]!, CALLBACK_URL)));
          merchant = await fundedMerchant(new Admin(targets[0]!, ADMIN_TOKEN), MERCHANT_FUNDS);
          console.error(`# seeded ${USERS} users with open depository accounts and a merchant funded with ${MERCHANT_FUNDS} in ${round1((performance.now() - seeded) / 1000)} s`);
        }
        /** Runs one workload on the load generator, with the CPU every party spent meanwhile. */
        const measured = async (workload: Workload, finished?: (load: LoadResult) => Promise<void>) => {
          // A backend that connects during the run counts from 0; one that closes during it is lost (pools keep theirs under load).
          const backendsBefore = new Map((await databaseBackends(sql)).map((pid) => [pid, processCpuMs(pid)]));
          const cpuOf = (backends: number[]) => ({
            coffer: processes.reduce((sum, p) => sum + processCpuMs(p.pid), 0),
            postgres: backends.reduce((sum, pid) => sum + processCpuMs(pid) - (backendsBefore.get(pid) ?? 0), 0),
            loadGenerator: processCpuMs(loadGenerator.pid),
            bench: processCpuMs(process.pid),
          });
          const before = { ...cpuOf([]), postgres: 0 };
          const started = performance.now();
          const load = await loadGenerator.run({ workload, targets, concurrency: CONCURRENCY, durationMs: DURATION_S * 1000 });
          if (finished) await finished(load);
          const doneMs = finished ? performance.now() - started : load.elapsedMs;
          const after = cpuOf(await databaseBackends(sql));
          const ok = load.sent - load.failed.length;
          const perOk = (ms: number) => Math.round((ms * 1000) / Math.max(ok, 1));
          const latencies = load.latencies.sort((a, b) => a - b);
          const busyMs = Object.values(after).reduce((s, v) => s + v, 0) - Object.values(before).reduce((s, v) => s + v, 0);
          return {
            load,
            ok,
            /** Until `finished` said so. */
            doneMs,
            row: {
              processes: n,
              workload: workload.kind,
              durationS: round1(load.elapsedMs / 1000),
              sent: load.sent,
              ok,
              errors: load.failed.length,
              perSec: Math.round(ok / (load.elapsedMs / 1000)),
              p50Ms: percentile(latencies, 50),
              p99Ms: percentile(latencies, 99),
              cpuUsPerOk: {
                coffer: perOk(after.coffer - before.coffer),
                postgres: perOk(after.postgres - before.postgres),
                loadGenerator: perOk(after.loadGenerator - before.loadGenerator),
                bench: perOk(after.bench - before.bench),
              },
              machineBusy: Math.round((busyMs / (doneMs * os.availableParallelism())) * 100) / 100,
              loadAverage: loadAverage(),
              ledgerCheck: '',
            } satisfies RunFigures as RunFigures,
          };
        };

        // 1. Recharge notifications.
        const pool = Math.ceil(DURATION_S * RECHARGE_POOL_PER_S);
        const made = performance.now();
        const spare = records.length;
        records.length = Math.max(pool, spare);
        await inParallel(records.length - spare, 8 * n, async (j) => {
          const i = spare + j;
          const user = users[i % USERS]!;
          const gateway = await apis[i % n]!.gateway(user, '/my/recharge-records', { amount: AMOUNT, callbackUrl: CALLBACK_URL });
          const reqData = JSON.stringify(bankResult(gateway, { status: 'SUCCESS' }));
          const signature = await signTextOffThread(reqData, bankKeys.privateKey);
          records[i] = { user, requestNo: requestDataOf(gateway).requestNo, path: gatewayNotificationPath(gateway.serviceName, reqData, signature) };
        });
        console.error(`# ${n} process(es): ${records.length - spare} PENDING recharge records made and their notifications signed in ${round1((performance.now() - made) / 1000)} s (${spare} left from the last run)`);
        let clearingAccountId: string | undefined;
        const recharges = await measured({ kind: 'recharges', paths: records.map((r) => r.path) }, async (load) => {
          // Applied: the depository clearing account (debited once per credited recharge) shows every acknowledged one.
          const acknowledged = load.sent - load.failed.length;
          const target = -minor(AMOUNT) * BigInt(rechargedTotal + acknowledged);
          const admin = new Admin(targets[0]!, ADMIN_TOKEN);
          for (;;) {
            if (!clearingAccountId) {
              const first = await admin.request<{ debitAccountId: string }>('GET', `/admin/ledger/transfers/recharge:${records[0]!.requestNo}`);
              if (first.status === 200) clearingAccountId = first.body.debitAccountId;
            }
            const clearing = clearingAccountId ? await admin.ok<{ balance: string }>('GET', `/admin/ledger/accounts/${clearingAccountId}`) : undefined;
            if (clearing && minor(clearing.balance) <= target) return;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        });
        const applied = recharges.row;
        applied.appliedPerSec = Math.round(recharges.ok / (recharges.doneMs / 1000));
        applied.poolExhausted = recharges.load.sent === records.length && recharges.load.elapsedMs < DURATION_S * 1000 - 100;
        // Whatever was not acknowledged, the bank sends again until it is (outside the timed part).
        for (const { index } of recharges.load.failed) {
          for (let tries = 0; (await apis[0]!.request<string>('GET', records[index]!.path)).text !== 'OK'; tries++) {
            assert.ok(tries < 20, `notification ${index} never acknowledged`);
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        const notified = records.splice(0, recharges.load.sent);
        for (const r of notified) rechargedPerUser.set(r.user.userId, (rechargedPerUser.get(r.user.userId) ?? 0) + 1);
        rechargedTotal += notified.length;
        await verifyRecharges(sql, apis[0]!, notified, users, rechargedPerUser, rechargedTotal, clearingAccountId!);
        applied.ledgerCheck = await ledgerCheck(database.url);
        report(applied);
        figures.push(applied);

        // 2. Payouts.
        const m = merchant!;
        const prefix = `E2E-${n}P-`;
        const payouts = await measured(
          { kind: 'payouts', keyId: m.key.keyId, secret: m.key.secret, prefix, amount: AMOUNT, accountNo: '6222000011112222' },
          async () => {
            for (;;) {
              const open = await sql.query<{ n: string }>(
                `select count(*) as n from payouts where merchant_id = $1 and merchant_order_no like $2 and status in ('ACCEPTED', 'PROCESSING')`,
                [m.merchant.merchantId, `${prefix}%`],
              );
              if (Number(open.rows[0]!.n) === 0) return;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          },
        );
        const paid = payouts.row;
        paid.finalPerSec = Math.round(payouts.ok / (payouts.doneMs / 1000));
        payoutsSucceeded += await verifyPayouts(sql, stubBank, m, new MerchantClient(targets[0]!, m.key.keyId, m.key.secret), prefix, payouts.load, payoutsSucceeded);
        paid.ledgerCheck = await ledgerCheck(database.url);
        report(paid);
        figures.push(paid);

        // 3. Wallet reads.
        const reads = (await measured({ kind: 'reads', tokens: users.map((u) => u.token) })).row;
        reads.ledgerCheck = await ledgerCheck(database.url);
        report(reads);
        figures.push(reads);
      } finally {
        await Promise.all(processes.map((p) => p.stop()));
      }
    }
  } finally {
    loadGenerator.stop();
    await sql.end();
    await stubBank.stop();
    if (process.argv.includes('--keep')) console.error(`# kept the database: ${database.url}`);
    else await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  printTable(figures);
  writeOutputs(figures);
}

/** The PostgreSQL server processes serving the bench's database: the Coffer processes' pooled connections (they stay open). */
async function databaseBackends(sql: pg.Client): Promise<number[]> {
  const { rows } = await sql.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
  return rows.map((r) => r.pid);
}

/** Every acknowledged recharge credited once: record SUCCEEDED, its ledger transfer there, the clearing account and each wallet exact. */
async function verifyRecharges(
  sql: pg.Client,
  api: Api,
  notified: { requestNo: string }[],
  users: TestUser[],
  perUser: Map<string, number>,
  total: number,
  clearingAccountId: string,
): Promise<void> {
  const { rows } = await sql.query<{ succeeded: string; credited: string }>(
    `select count(*) filter (where r.status = 'SUCCEEDED') as succeeded, count(t.id) as credited
       from recharge_records r left join ledger_transfers t on t.id = 'recharge:' || r.request_no
      where r.request_no = any($1)`,
    [notified.map((r) => r.requestNo)],
  );
  assert.equal(Number(rows[0]!.succeeded), notified.length, 'every acknowledged recharge record SUCCEEDED');
  assert.equal(Number(rows[0]!.credited), notified.length, 'every acknowledged recharge has its ledger transfer');
  const clearing = await new Admin(api.base, ADMIN_TOKEN).ok<{ balance: string }>('GET', `/admin/ledger/accounts/${clearingAccountId}`);
  assert.equal(minor(clearing.balance), -minor(AMOUNT) * BigInt(total), 'the clearing account moved once per recharge, no more');
  for (const user of users) {
    const wallet = await api.wallet(user);
    assert.equal(minor(wallet!.balance), minor(AMOUNT) * BigInt(perUser.get(user.userId) ?? 0), `user ${user.userId}'s wallet holds exactly its recharges`);
  }
}

/** Every accepted payout saved once, SUCCEEDED and ordered at the bank once; the merchant's balance exact. Answers how many succeeded. */
async function verifyPayouts(
  sql: pg.Client,
  bank: StubBank,
  m: Awaited<ReturnType<typeof fundedMerchant>>,
  client: MerchantClient,
  prefix: string,
  load: LoadResult,
  succeededBefore: number,
): Promise<number> {
  const failed = new Set(load.failed.map((f) => f.index));
  const accepted = Array.from({ length: load.sent }, (_, i) => i).filter((i) => !failed.has(i)).map((i) => `${prefix}${i}`);
  const { rows } = await sql.query<{ id: string; merchant_order_no: string; status: string }>(
    'select id, merchant_order_no, status from payouts where merchant_id = $1 and merchant_order_no like $2',
    [m.merchant.merchantId, `${prefix}%`],
  );
  const byOrderNo = new Map(rows.map((r) => [r.merchant_order_no, r]));
  assert.equal(byOrderNo.size, rows.length, 'no order number saved twice');
  for (const orderNo of accepted) assert.equal(byOrderNo.get(orderNo)?.status, 'SUCCEEDED', `accepted payout ${orderNo} saved and SUCCEEDED`);
  assert.ok(rows.length <= load.sent, 'no payout that was not sent');
  for (const row of rows) assert.equal(bank.orders.get(row.id), 1, `payout ${row.merchant_order_no} ordered at the bank once`);
  const succeeded = rows.filter((r) => r.status === 'SUCCEEDED').length;
  const spent = (minor(AMOUNT) + minor(PAYOUT_FEE)) * BigInt(succeededBefore + succeeded);
  assert.equal(minor((await balanceOf(client)).balance), minor(MERCHANT_FUNDS) - spent, "the merchant's balance is its funds less every paid payout and fee");
  return succeeded;
}

function report(row: RunFigures): void {
  console.error(`# ${row.processes} process(es), ${row.workload}: ${row.ledgerCheck}`);
  console.log(JSON.stringify({ bench: 'e2e', ...row }));
}

function printTable(rows: RunFigures[]): void {
  const header = ['processes', 'workload', 's', 'ok', 'errors', 'ok/s', 'applied|final/s', 'p50 ms', 'p99 ms', 'CPU µs/ok: coffer', 'postgres', 'loadgen', 'busy'];
  const lines = rows.map((r) => [
    r.processes,
    r.workload + (r.poolExhausted ? ' (pool used up)' : ''),
    r.durationS,
    r.ok,
    r.errors,
    r.perSec,
    r.appliedPerSec ?? r.finalPerSec ?? '',
    r.p50Ms,
    r.p99Ms,
    r.cpuUsPerOk.coffer,
    r.cpuUsPerOk.postgres,
    r.cpuUsPerOk.loadGenerator,
    `${Math.round(r.machineBusy * 100)} %`,
  ]);
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

interface Report {
  bench: 'e2e';
  at: string;
  machine: string;
  durationS: number;
  concurrency: number;
  runs: RunFigures[];
}

function writeOutputs(rows: RunFigures[]): void {
  const machine = `${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  const report: Report = { bench: 'e2e', at: new Date().toISOString(), machine, durationS: DURATION_S, concurrency: CONCURRENCY, runs: rows };
  fs.mkdirSync(DOCS, { recursive: true });
  fs.writeFileSync(new URL('bench-e2e.json', DOCS), `${JSON.stringify(report, null, 2)}\n`);
  writeChart(report);
  console.error('# wrote docs/bench-e2e.json and docs/bench-e2e.svg');
}

/** docs/bench-e2e.svg from a report (`--chart-only` redraws it from docs/bench-e2e.json). */
function writeChart({ at, machine, durationS, concurrency, runs }: Report): void {
  const counts = [...new Set(runs.map((r) => r.processes))];
  const of = (workload: RunFigures['workload'], pick: (r: RunFigures) => number) => counts.map((n) => pick(runs.find((r) => r.processes === n && r.workload === workload)!));
  const loads = runs.map((r) => Number(r.loadAverage.split(' ')[0]));
  const svg = throughputChart(
    'Coffer end to end: throughput against server processes',
    `PostgreSQL server, ${machine.split(' (')[0]} shared (load average ${Math.min(...loads)}-${Math.max(...loads)}), ${durationS} s a point, ${concurrency} in flight; ${at.slice(0, 10)}`,
    counts,
    [
      { name: 'wallet reads/s', colour: '#1f77b4', values: of('reads', (r) => r.perSec) },
      { name: 'recharges applied/s', colour: '#74c476', values: of('recharges', (r) => r.appliedPerSec!) },
      { name: 'recharges acknowledged/s', colour: '#2ca02c', values: of('recharges', (r) => r.perSec) },
      { name: 'payouts accepted/s', colour: '#d62728', values: of('payouts', (r) => r.perSec) },
    ],
  );
  fs.writeFileSync(new URL('bench-e2e.svg', DOCS), svg);
}

if (process.argv.includes('--chart-only')) writeChart(JSON.parse(fs.readFileSync(new URL('bench-e2e.json', DOCS), 'utf8')) as Report);
else await main();

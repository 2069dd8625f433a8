/**
 * `npm run ledger:check` as an operator runs it: a child process over the
 * configured books, exit code 0 when they are right, 1 when not (naming what
 * broke), 2 when it cannot check; and, while a server holds the embedded
 * store, the answer comes from that server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import type { RunningCoffer } from '../../src/main.ts';
import { openStore } from '../../src/platform/db/store.ts';
import { TEST_DATABASE_URL, testStoreKinds } from '../support/stores.ts';
import { ADMIN_TOKEN, AdminClient, createBooks, INVARIANT_NAMES, type TestBooks, startServer, unique } from './support.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface CheckRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a ledger command's entry point (ledger:check by default) with only the given Coffer settings. */
function ledgerCheck(env: Record<string, string>, script = 'src/cli/ledger-check.ts'): Promise<CheckRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'ADMIN_TOKEN', 'PUBLIC_URL', 'PORT']) delete childEnv[name];
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => {
    child.on('exit', (exitCode) => {
      clearTimeout(killer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

function assertAllHold(run: CheckRun): void {
  assert.equal(run.exitCode, 0, `ledger:check failed:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /^All ledger invariants hold\.$/m);
  for (const name of INVARIANT_NAMES) assert.match(run.stdout, new RegExp(`^ok +${name}:`, 'm'), `${name} is checked`);
  assert.doesNotMatch(run.stdout, /FAIL/);
}

function assertBroken(run: CheckRun, check: string, accountId: string): void {
  assert.equal(run.exitCode, 1, `ledger:check should find the books broken:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, new RegExp(`^FAIL ${check}:`, 'm'), `names the broken check:\n${run.stdout}`);
  assert.match(run.stdout, /^LEDGER INVARIANTS BROKEN\.$/m);
  assert.doesNotMatch(run.stdout, /All ledger invariants hold/);
  assert.ok(run.stdout.includes(accountId), 'names the account whose books are wrong');
  // Only what was broken is reported broken.
  assert.match(run.stdout, /^ok +entry_chain:/m);
  assert.match(run.stdout, /^ok +pending_totals_match_open_holds:/m);
}

/** Books with some history: money in, money out, an open hold, a posted hold. Returns the wallet. */
async function populate(api: AdminClient): Promise<string> {
  const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'CNY');
  const wallet = await api.openAccount('USER', 'WALLET', 'CNY');
  const other = await api.openAccount('USER', 'WALLET', 'CNY');
  await api.move(funding.id, wallet.id, '500.00', 'CNY', { code: 'recharge' });
  await api.move(wallet.id, other.id, '120.25');
  await api.move(other.id, funding.id, '20.00', 'CNY', { code: 'withdraw' });
  const hold = (amount: string) =>
    api.ok<{ id: string }>('/admin/ledger/transfers', {
      id: unique('hold'),
      debitAccountId: wallet.id,
      creditAccountId: funding.id,
      amount,
      currency: 'CNY',
      code: 'withdraw',
      pending: {},
    });
  await hold('30.00');
  const posted = await hold('40.00');
  await api.ok(`/admin/ledger/transfers/${posted.id}/post`, { id: unique('post'), amount: '15.00' });
  const yenFunding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'JPY');
  const yenWallet = await api.openAccount('USER', 'WALLET', 'JPY');
  await api.move(yenFunding.id, yenWallet.id, '3000', 'JPY');
  const account = await api.account(wallet.id);
  assert.deepEqual([account.balance, account.available], ['364.75', '334.75']);
  return wallet.id;
}

const storeKinds = await testStoreKinds();
const skipEmbedded = storeKinds.find((k) => k.kind === 'pglite')!.skip;
const skipServer = storeKinds.find((k) => k.kind === 'postgres')!.skip;

describe('ledger:check on the embedded store', { skip: skipEmbedded }, () => {
  let books: TestBooks;
  let dataDir: string;
  let walletId: string;
  let coffer: RunningCoffer | undefined;

  before(async () => {
    books = await createBooks('pglite');
    dataDir = (books.env as { DATA_DIR: string }).DATA_DIR;
    const server = await startServer(books);
    try {
      walletId = await populate(new AdminClient(server.url));
    } finally {
      await server.close();
    }
  });

  after(async () => {
    await coffer?.close();
    await books?.dispose();
  });

  test('passes on sound books (exit 0)', async () => {
    assertAllHold(await ledgerCheck({ DATA_DIR: dataDir }));
  });

  test('asks the server that holds the data folder, with ADMIN_TOKEN and PUBLIC_URL', async () => {
    coffer = await startServer(books);
    assertAllHold(await ledgerCheck({ DATA_DIR: dataDir, ADMIN_TOKEN, PUBLIC_URL: coffer.url }));

    // It really went through the server: without a token it cannot open the locked folder.
    const noToken = await ledgerCheck({ DATA_DIR: dataDir, PUBLIC_URL: coffer.url });
    assert.equal(noToken.exitCode, 2, noToken.stdout + noToken.stderr);
    assert.match(noToken.stderr, /in use by process[\s\S]*Set ADMIN_TOKEN/);
    const wrongToken = await ledgerCheck({ DATA_DIR: dataDir, ADMIN_TOKEN: `${ADMIN_TOKEN}-wrong`, PUBLIC_URL: coffer.url });
    assert.equal(wrongToken.exitCode, 2, wrongToken.stdout + wrongToken.stderr);
    assert.match(wrongToken.stderr, /answered 401/);

    await coffer.close();
    coffer = undefined;
  });

  test('fails naming the broken check once the books are altered behind the ledger (exit 1)', async () => {
    const store = await openStore({ dataDir });
    try {
      // The journal is append-only: its rows cannot be altered or removed.
      await assert.rejects(sql`update ledger_entries set amount = amount + 1 where account_id = ${walletId}`.execute(store.db));
      await assert.rejects(sql`delete from ledger_transfers`.execute(store.db));
      const { numAffectedRows } = await sql`update ledger_accounts set posted_credits = posted_credits + 1 where id = ${walletId}`.execute(store.db);
      assert.equal(numAffectedRows, 1n);
    } finally {
      await store.close();
    }
    const run = await ledgerCheck({ DATA_DIR: dataDir });
    assertBroken(run, 'account_totals_match_entries', walletId);
    assert.match(run.stdout, /^FAIL accounts_balance_per_currency:/m, 'the CNY accounts no longer balance either');
  });

  test('the server reports the same broken books, to ledger:check and on its admin endpoint', async () => {
    coffer = await startServer(books);
    assertBroken(await ledgerCheck({ DATA_DIR: dataDir, ADMIN_TOKEN, PUBLIC_URL: coffer.url }), 'account_totals_match_entries', walletId);
    const report = await new AdminClient(coffer.url).invariants();
    assert.equal(report.ok, false);
    const broken = report.checks.find((c) => c.name === 'account_totals_match_entries')!;
    assert.equal(broken.ok, false);
    assert.deepEqual(broken.violations.map((v) => v.account), [walletId]);
    await coffer.close();
    coffer = undefined;
  });
});

describe('ledger:check on a PostgreSQL server', { skip: skipServer }, () => {
  let books: TestBooks;
  let databaseUrl: string;
  let walletId: string;
  let coffer: RunningCoffer;

  before(async () => {
    books = await createBooks('postgres');
    databaseUrl = (books.env as { DATABASE_URL: string }).DATABASE_URL;
    coffer = await startServer(books);
    walletId = await populate(new AdminClient(coffer.url));
  });

  after(async () => {
    await coffer?.close();
    await books?.dispose();
  });

  test('passes on sound books, while a server is running on them (exit 0)', async () => {
    assertAllHold(await ledgerCheck({ DATABASE_URL: databaseUrl }));
  });

  test('fails naming the broken check once the books are altered behind the ledger (exit 1)', async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await assert.rejects(client.query('update ledger_entries set amount = amount + 1 where account_id = $1', [walletId]));
      await assert.rejects(client.query('delete from ledger_entries'));
      const { rowCount } = await client.query('update ledger_accounts set posted_credits = posted_credits + 1 where id = $1', [walletId]);
      assert.equal(rowCount, 1);
    } finally {
      await client.end();
    }
    assertBroken(await ledgerCheck({ DATABASE_URL: databaseUrl }), 'account_totals_match_entries', walletId);
    const report = await new AdminClient(coffer.url).invariants();
    assert.equal(report.checks.find((c) => c.name === 'account_totals_match_entries')!.ok, false, 'the admin endpoint sees it too');
  });

  test('ledger:verify-chain passes on the chained journal and names the first broken link once an entry is altered', async () => {
    const verifyChain = () => ledgerCheck({ DATABASE_URL: databaseUrl }, 'src/cli/ledger-verify-chain.ts');
    const sound = await verifyChain();
    assert.equal(sound.exitCode, 0, sound.stdout + sound.stderr);
    assert.match(sound.stdout, /The journal's hash chains are intact\./);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('alter table ledger_entries disable trigger ledger_entries_no_change');
      await client.query('update ledger_entries set balance_after = balance_after + 1 where account_id = $1 and seq = 2', [walletId]);
      await client.query('alter table ledger_entries enable trigger ledger_entries_no_change');
      await client.query('commit');
    } finally {
      await client.end();
    }
    const broken = await verifyChain();
    assert.equal(broken.exitCode, 1, broken.stdout + broken.stderr);
    assert.ok(broken.stdout.includes(`First: account ${walletId}, entry 2 (hash_mismatch)`), broken.stdout);
  });

  test('says it could not check when the database cannot be reached (exit 2)', async () => {
    const missing = new URL(TEST_DATABASE_URL);
    missing.pathname = `/coffer_missing_${Date.now()}`;
    const run = await ledgerCheck({ DATABASE_URL: missing.toString() });
    assert.equal(run.exitCode, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /ledger:check could not check the books/);
    assert.doesNotMatch(run.stdout, /All ledger invariants hold/);
  });
});

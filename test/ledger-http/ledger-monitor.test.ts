/**
 * The ledger monitor job: with sound books it raises nothing; once the journal
 * is altered behind the ledger's back it reports the break as a metric and an
 * open admin alert naming the first broken link; once repaired the alert is
 * resolved and the metric drops to 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { openStore } from '../../src/platform/db/store.ts';
import { testStoreKinds } from '../support/stores.ts';
import { ADMIN_TOKEN, AdminClient, createBooks, sleep, startServer, type TestBooks } from './support.ts';

interface AlertView {
  source: string;
  key: string;
  message: string;
  occurrences: number;
  resolvedAt: string | null;
}

async function alerts(coffer: RunningCoffer, open: boolean): Promise<AlertView[]> {
  const response = await fetch(`${coffer.url}/admin/alerts${open ? '?open=true' : ''}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: AlertView[] }).data;
}

async function chainMetric(coffer: RunningCoffer): Promise<string | undefined> {
  const text = await (await fetch(`${coffer.url}/metrics`)).text();
  return text.match(/^coffer_ledger_invariant_broken\{check="journal_chain"\} (\d)$/m)?.[1];
}

async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

/** Sets one entry's business code behind the ledger (the append-only guard switched off, as an intruder would). */
async function setEntryCode(books: TestBooks, accountId: string, code: string): Promise<void> {
  const store = await openStore({ ...('DATA_DIR' in books.env ? { dataDir: books.env.DATA_DIR } : { databaseUrl: books.env.DATABASE_URL }) });
  try {
    await store.db.transaction().execute(async (trx) => {
      await sql`alter table ledger_entries disable trigger ledger_entries_no_change`.execute(trx);
      await sql`update ledger_entries set code = ${code} where account_id = ${accountId} and seq = 1`.execute(trx);
      await sql`alter table ledger_entries enable trigger ledger_entries_no_change`.execute(trx);
    });
  } finally {
    await store.close();
  }
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`ledger monitor (${kind})`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer | undefined;
    let walletId: string;
    const monitorEverySecond = { LEDGER_MONITOR_INTERVAL_S: '1' };

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, monitorEverySecond);
      const api = new AdminClient(coffer.url);
      const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'CNY');
      const wallet = await api.openAccount('USER', 'WALLET', 'CNY');
      await api.move(funding.id, wallet.id, '80.00', 'CNY', { code: 'recharge' });
      walletId = wallet.id;
    });
    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    test('sound books: the metric says 0 and no alert is open', async () => {
      await eventually('the first run', () => chainMetric(coffer!), (value) => value !== undefined);
      assert.equal(await chainMetric(coffer!), '0');
      assert.deepEqual(await alerts(coffer!, true), []);
    });

    test('an altered entry raises the metric and one open alert naming the broken link; repaired, it resolves', async () => {
      await coffer!.close();
      await setEntryCode(books, walletId, 'adjustment');
      coffer = await startServer(books, monitorEverySecond);
      const open = await eventually('an open alert', () => alerts(coffer!, true), (list) => list.length > 0);
      assert.equal(open.length, 1, JSON.stringify(open));
      assert.equal(open[0]!.key, 'journal_chain');
      assert.equal(open[0]!.source, 'ledger.monitor');
      assert.ok(open[0]!.message.includes(`account ${walletId}, entry 1 (hash_mismatch)`), open[0]!.message);
      assert.equal(await chainMetric(coffer!), '1');
      // Later runs count the same problem on the same alert.
      await eventually('a second occurrence', () => alerts(coffer!, true), (list) => (list[0]?.occurrences ?? 0) >= 2);
      assert.equal((await alerts(coffer!, true)).length, 1);

      await coffer!.close();
      await setEntryCode(books, walletId, 'recharge');
      coffer = await startServer(books, monitorEverySecond);
      await eventually('the alert resolved', () => alerts(coffer!, true), (list) => list.length === 0);
      assert.equal(await chainMetric(coffer!), '0');
      const history = await alerts(coffer!, false);
      assert.equal(history.length, 1);
      assert.ok(history[0]!.resolvedAt, 'kept, marked resolved');
    });
  });
}

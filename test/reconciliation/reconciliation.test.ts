/**
 * Reconciliation files end to end (SPEC 5): real Coffer over real HTTP with
 * real signing, the real bank simulator's payout channel, both stores. The
 * reconciliation module gets its own movable clock, so a day closes without a
 * day passing (payouts keep the wall clock: what they did "today" arrives at a
 * reconciliation that already sees tomorrow, exactly like a late event).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { SystemClock } from '../../src/platform/clock.ts';
import { findOutboxMessage, publish } from '../../src/platform/outbox/index.ts';
import { PAYOUT_FINAL } from '../../src/modules/payouts/index.ts';
import { testStoreKinds } from '../support/stores.ts';
import { waitFor } from '../bank-simulator/support.ts';
import {
  Admin,
  assertInvariants,
  assertProblem,
  createBooks,
  fundedMerchant,
  type MerchantClient,
  payoutBody,
  postPayout,
  type Rig,
  sleep,
  startRig,
  unique,
  waitForStatus,
} from '../payouts/support.ts';

const DAY_MS = 86_400_000;
const CLOSE_AFTER_S = 3600;

interface Csv {
  status: number;
  state: string | null;
  sha256: string | null;
  text: string;
  lines: Record<string, string>[];
  summaries: string[][];
}

async function reconciliation(client: MerchantClient, date: string): Promise<Csv> {
  const response = await client.request<string>('GET', `/v1/reconciliation/${date}`);
  const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  const rows = text.split('\r\n').filter((l) => l.length > 0).map((l) => l.split(','));
  const [header = [], ...rest] = rows;
  return {
    status: response.status,
    state: response.headers.get('x-coffer-reconciliation'),
    sha256: response.headers.get('x-coffer-reconciliation-sha256'),
    text,
    lines: rest.filter((r) => r[0] !== 'SUMMARY').map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? '']))),
    summaries: rest.filter((r) => r[0] === 'SUMMARY'),
  };
}

function waitForLines(client: MerchantClient, date: string, count: number): Promise<Csv> {
  return waitFor(`${count} lines in the ${date} file`, async () => {
    const file = await reconciliation(client, date);
    assert.equal(file.status, 200, file.text);
    return file.lines.length >= count ? file : undefined;
  });
}

/** Minor units of a decimal string with two places (test arithmetic only). */
function cents(text: string): number {
  return Math.round(Number(text) * 100);
}

/** The movement of the settlement account over the day's payout, fee and reversal entries, read from the ledger's admin API. */
async function ledgerMovement(admin: Admin, accountId: string, day: string): Promise<number> {
  const from = `${day}T00:00:00.000Z`;
  const to = new Date(Date.parse(from) + DAY_MS - 1).toISOString();
  const page = await admin.ok<{ data: { code: string; direction: string; amount: string }[]; hasMore: boolean }>(
    'GET',
    `/admin/ledger/accounts/${accountId}/entries?limit=200&from=${from}&to=${to}`,
  );
  assert.equal(page.hasMore, false);
  return page.data
    .filter((e) => ['payout', 'fee', 'reversal'].includes(e.code))
    .reduce((sum, e) => sum + (e.direction === 'CREDIT' ? 1 : -1) * cents(e.amount), 0);
}

async function settlementAccountId(client: MerchantClient): Promise<string> {
  const me = await client.request<{ balances: { accountId: string; currency: string }[] }>('GET', '/v1/merchant');
  return me.body.balances.find((b) => b.currency === 'CNY')!.accountId;
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`reconciliation files (${kind})`, { skip }, () => {
    const clock = new SystemClock();
    let rig: Rig;
    let disposeBooks = async () => {};
    let today: string;

    before(async () => {
      // A run that straddles midnight UTC would date its payouts on two days: start after it.
      const msToMidnight = DAY_MS - (Date.now() % DAY_MS);
      if (msToMidnight < 120_000) await sleep(msToMidnight + 1000);
      today = new Date().toISOString().slice(0, 10);
      const books = await createBooks(kind);
      disposeBooks = () => books.dispose();
      rig = await startRig(books, { RECONCILIATION_CLOSE_AFTER_S: String(CLOSE_AFTER_S) }, {}, { reconciliation: { clock } });
    });

    after(async () => {
      await rig?.close();
      await disposeBooks();
    });

    afterEach(async () => {
      if (rig) await assertInvariants(rig.admin);
    });

    test('a day of succeeded, failed and reversed payouts: one line per final status, the summary, and it matches the ledger to the cent', async () => {
      const { client } = await fundedMerchant(rig.admin, '1000.00');
      const paid = (await postPayout(client, payoutBody(unique('paid'), '6222000011112222', '100.00'))).body;
      const failed = (await postPayout(client, payoutBody(unique('failed'), '6222000011110002', '50.00'))).body;
      const reversed = (await postPayout(client, payoutBody(unique('reversed'), '6222000011110003', '200.00'))).body;
      await waitForStatus(client, paid.id, 'SUCCEEDED');
      await waitForStatus(client, failed.id, 'FAILED');
      const reversedView = await waitForStatus(client, reversed.id, 'REVERSED');

      const file = await waitForLines(client, today, 4);
      assert.equal(file.state, 'provisional');
      assert.equal(file.sha256, null);
      assert.equal(file.text.split('\r\n')[0], 'bookedAt,type,payoutId,merchantOrderNo,beneficiaryAccount,currency,amount,fee,net,statusAt,late');
      const pick = ({ type, payoutId, merchantOrderNo, beneficiaryAccount, currency, amount, fee, net, late }: Record<string, string>) =>
        ({ type, payoutId, merchantOrderNo, beneficiaryAccount, currency, amount, fee, net, late });
      const byKey = Object.fromEntries(file.lines.map((l) => [`${l.type} ${l.payoutId}`, pick(l)]));
      const line = (type: string, p: { id: string; merchantOrderNo: string }, account: string, amount: string, fee: string, net: string) =>
        ({ type, payoutId: p.id, merchantOrderNo: p.merchantOrderNo, beneficiaryAccount: account, currency: 'CNY', amount, fee, net, late: '' });
      assert.deepEqual(byKey, {
        [`PAYOUT ${paid.id}`]: line('PAYOUT', paid, '****2222', '100.00', '1.50', '-101.50'),
        [`FAILED ${failed.id}`]: line('FAILED', failed, '****0002', '50.00', '1.50', '0.00'),
        [`PAYOUT ${reversed.id}`]: line('PAYOUT', reversed, '****0003', '200.00', '2.00', '-202.00'),
        [`REVERSAL ${reversed.id}`]: line('REVERSAL', reversed, '****0003', '200.00', '2.00', '202.00'),
      });
      const reversal = file.lines.find((l) => l.type === 'REVERSAL')!;
      assert.equal(reversal.statusAt, reversedView.updated, 'a line is dated by the status time');
      assert.deepEqual(file.summaries, [
        ['SUMMARY', `day=${today}`, 'file=PROVISIONAL', 'currency=CNY', 'PAYOUT=2', 'FAILED=1', 'REVERSAL=1', 'amount=100.00', 'fee=1.50', 'net=-101.50', 'late=0'],
      ]);

      // The file matches the ledger: the summary's net is the settlement account's movement over the day's payout, fee and reversal entries.
      const accountId = await settlementAccountId(client);
      assert.equal(await ledgerMovement(rig.admin, accountId, today), cents('-101.50'));
      assert.equal((await rig.admin.ok<{ balance: string }>('GET', `/admin/ledger/accounts/${accountId}`)).balance, '898.50');

      // Another merchant's file for the same day holds none of it.
      const other = await fundedMerchant(rig.admin, '10.00');
      const theirs = await reconciliation(other.client, today);
      assert.equal(theirs.lines.length, 0);
      assert.deepEqual(theirs.summaries, [['SUMMARY', `day=${today}`, 'file=PROVISIONAL', 'currency=', 'PAYOUT=0', 'FAILED=0', 'REVERSAL=0', 'amount=0', 'fee=0', 'net=0', 'late=0']]);
    });

    test('a final status delivered again (the outbox is at least once) adds no line', async () => {
      const { client, merchant } = await fundedMerchant(rig.admin, '500.00');
      const paid = (await postPayout(client, payoutBody(unique('dup'), '6222000011112222', '10.00'))).body;
      const view = await waitForStatus(client, paid.id, 'SUCCEEDED');
      const before = await waitForLines(client, today, 1);

      // The same PAYOUT_FINAL message again, through the real relay to every consumer.
      const id = await rig.coffer.store.db.transaction().execute((trx) =>
        publish(trx, { topic: PAYOUT_FINAL, key: paid.id, payload: { merchantId: merchant.merchantId, status: 'SUCCEEDED', payout: view } }),
      );
      await waitFor('the duplicate delivered', async () => (await findOutboxMessage(rig.coffer.store.db, id))?.deliveredAt ?? undefined);
      const afterDuplicate = await reconciliation(client, today);
      assert.equal(afterDuplicate.text, before.text);
      assert.equal(afterDuplicate.lines.length, 1);
    });

    test('bad dates are refused with stable codes; unsigned requests with 401', async () => {
      const { client } = await fundedMerchant(rig.admin, '1.00');
      for (const bad of ['2026-13-01', '2026-02-30', '20261203', 'yesterday']) {
        const response = await client.request('GET', `/v1/reconciliation/${bad}`);
        assertProblem(response, 400, 'RECONCILIATION_DATE_INVALID');
      }
      const tomorrow = new Date(Date.parse(today) + DAY_MS).toISOString().slice(0, 10);
      assertProblem(await client.request('GET', `/v1/reconciliation/${tomorrow}`), 422, 'RECONCILIATION_DAY_NOT_STARTED');
      const unsigned = await fetch(`${rig.coffer.url}/v1/reconciliation/${today}`);
      assert.equal(unsigned.status, 401);
    });

    // Last: it moves reconciliation's clock past today's close.
    test('a closed day is stored and served byte for byte; later payouts of that day are booked late into the first open day', async () => {
      const { client } = await fundedMerchant(rig.admin, '1000.00');
      const first = (await postPayout(client, payoutBody(unique('before-close'), '6222000011112222', '30.00'))).body;
      await waitForStatus(client, first.id, 'SUCCEEDED');
      await waitForLines(client, today, 1);

      clock.advance(Date.parse(today) + DAY_MS + CLOSE_AFTER_S * 1000 - Date.now() + 1000);
      const closed = await reconciliation(client, today);
      assert.equal(closed.status, 200);
      assert.equal(closed.state, 'closed');
      assert.equal(closed.sha256, createHash('sha256').update(closed.text, 'utf8').digest('hex'));
      assert.equal(closed.lines.length, 1);
      assert.equal(closed.summaries[0]![2], 'file=CLOSED');

      // More payouts of the same (closed) day: the relay "was late" as far as reconciliation can tell.
      const late = (await postPayout(client, payoutBody(unique('after-close'), '6222000011112222', '40.00'))).body;
      const lateFail = (await postPayout(client, payoutBody(unique('after-close-fail'), '6222000011110002', '5.00'))).body;
      const lateView = await waitForStatus(client, late.id, 'SUCCEEDED');
      await waitForStatus(client, lateFail.id, 'FAILED');
      const tomorrow = new Date(Date.parse(today) + DAY_MS).toISOString().slice(0, 10);
      const next = await waitForLines(client, tomorrow, 2);
      assert.equal(next.state, 'provisional');
      assert.deepEqual(next.lines.map((l) => [l.payoutId, l.late]).sort(), [[late.id, 'late'], [lateFail.id, 'late']].sort());
      assert.equal(next.lines.find((l) => l.payoutId === late.id)!.statusAt, lateView.updated, 'the original status time is kept');
      assert.equal(next.summaries[0]!.at(-1), 'late=2');

      const again = await reconciliation(client, today);
      assert.equal(again.text, closed.text, 'byte for byte');
      assert.equal(again.sha256, closed.sha256);

      const days = await client.request<{ data: { date: string; closed: boolean; lines: number }[] }>('GET', '/v1/reconciliation?limit=5');
      assert.deepEqual(days.body.data.slice(0, 2), [
        { date: tomorrow, closed: false, lines: 2 },
        { date: today, closed: true, lines: 1 },
      ]);
    });
  });
}


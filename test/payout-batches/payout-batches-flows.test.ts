/**
 * Batch payouts end to end (SPEC 5) over real HTTP with real signing, against
 * the real bank simulator's payout channel, on the embedded store and on a
 * PostgreSQL server. Every test ends with the ledger's invariants green.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { testStoreKinds } from '../support/stores.ts';
import { createEndpoint, deliveries, Receiver, waitFor } from '../webhooks/support.ts';
import {
  assertInvariants,
  assertProblem,
  balanceOf,
  createBooks,
  MerchantClient,
  payoutBody,
  postPayout,
  type Rig,
  startRig,
  unique,
} from '../payouts/support.ts';
import { batchMerchant, csvOf, decide, getBatch, HEADER, results, upload, uploaded, waitForBatch } from './support.ts';

for (const { kind, skip } of await testStoreKinds()) {
  describe(`batch payouts end to end (${kind})`, { skip }, () => {
    let rig: Rig;
    let disposeBooks = async () => {};

    before(async () => {
      const books = await createBooks(kind);
      disposeBooks = () => books.dispose();
      rig = await startRig(books, { WEBHOOK_POLL_INTERVAL_MS: '25', PAYOUT_BATCH_CONCURRENCY: '4' });
    });

    after(async () => {
      await rig?.close();
      await disposeBooks();
    });

    afterEach(async () => {
      if (rig) await assertInvariants(rig.admin);
    });

    test('a file uploaded by a maker and approved by a checker pays every row: counts, sums, results file, one webhook, exact balance', async () => {
      const receiver = new Receiver();
      await receiver.start();
      try {
        const m = await batchMerchant(rig.admin, '10000.00');
        await createEndpoint(m.maker, receiver.url('/hooks'));
        const p = unique('b');
        // A BOM, CRLF line ends and a quoted field with a comma, a quote and the optional remark left empty.
        const csv =
          '\uFEFF' +
          csvOf(
            [
              `${p}-1,100.00,CNY,"Li, Lei",6222000011110001,ICBC,salary`,
              `${p}-2,100.00,CNY,Han Meimei,6222000011110002,ICBC,`,
              `${p}-3,100.00,CNY,"Wang ""Xiao"" Ming",6222000011110003,ICBC,bonus`,
              `${p}-4,250.50,CNY,Zhang San,6222000011119999,CMB,`,
              `${p}-5,100.00,CNY,Li Si,6222000011118888,ABC,expenses`,
            ],
            HEADER,
            '\r\n',
          );
        const created = await upload(m.maker, csv);
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const batch = created.body;
        assert.match(batch.id, /^pb_/);
        assert.equal(batch.status, 'AWAITING_APPROVAL');
        assert.equal(batch.count, 5);
        assert.equal(batch.totalAmount, '650.50');
        assert.equal(batch.currency, 'CNY');
        assert.deepEqual(batch.createdBy, { kind: 'apiKey', id: m.maker.keyId });
        assert.equal(batch.rows.PENDING.count, 5);
        assert.equal((await balanceOf(m.maker)).available, '10000.00', 'nothing moves before approval');

        const approved = await decide(m.checker, batch.id, 'approve');
        assert.equal(approved.status, 200, JSON.stringify(approved.body));
        assert.deepEqual(approved.body.approvedBy, { kind: 'apiKey', id: m.checker.keyId });

        const done = await waitForBatch(m.maker, batch.id, (b) => b.status === 'PROCESSED' && b.rows.REVERSED.count === 1);
        assert.equal(done.rows.SUCCEEDED.count, 3);
        assert.equal(done.rows.SUCCEEDED.amount, '450.50');
        // Fees: 0.50 + 0.1 %: 0.60 for 100.00, 0.75 for 250.50.
        assert.equal(done.rows.SUCCEEDED.fee, '1.95');
        assert.equal(done.rows.FAILED.count, 1);
        assert.equal(done.rows.FAILED.amount, '100.00');
        assert.equal(done.rows.REVERSED.count, 1);
        assert.equal(done.rows.PENDING.count + done.rows.ACCEPTED.count + done.rows.CANCELLED.count, 0);
        assert.ok(done.processed);

        const lines = await results(m.maker, batch.id);
        assert.deepEqual(
          lines.map((l) => [l.line, l.merchantOrderNo, l.status, l.errorCode]),
          [
            ['2', `${p}-1`, 'SUCCEEDED', ''],
            ['3', `${p}-2`, 'FAILED', 'ACCOUNT_CLOSED'],
            ['4', `${p}-3`, 'REVERSED', 'RETURNED_BY_BENEFICIARY_BANK'],
            ['5', `${p}-4`, 'SUCCEEDED', ''],
            ['6', `${p}-5`, 'SUCCEEDED', ''],
          ],
        );
        assert.ok(lines.every((l) => /^po_/.test(l.payoutId)));
        assert.equal(new Set(lines.map((l) => l.payoutId)).size, 5);
        assert.equal(lines[0]!.fee, '0.60');
        // Each row's payout is a real payout of the merchant, under its merchantOrderNo.
        const payout = await m.maker.request<{ id: string; status: string }>('GET', `/v1/payouts/${lines[3]!.payoutId}`);
        assert.equal(payout.body.status, 'SUCCEEDED');

        // Settlement: 10,000.00 - (450.50 + 1.95) for the three that stayed paid; the failed and reversed ones came back whole.
        const balance = await balanceOf(m.maker);
        assert.deepEqual(balance, { balance: '9547.55', available: '9547.55', pendingDebits: '0.00' });

        const events = await waitFor('the payout_batch.processed delivery', async () => {
          const got = (await deliveries(m.maker)).filter((d) => d.eventType === 'payout_batch.processed');
          return got.length > 0 && got.every((d) => d.status === 'DELIVERED') ? got : undefined;
        });
        assert.equal(events.length, 1, 'exactly one payout_batch.processed event');
        const received = receiver
          .at('/hooks')
          .map((r) => JSON.parse(r.raw.toString('utf8')) as { type: string; data: { id: string; status: string; updated: string; rows: { SUCCEEDED: { count: number } } } })
          .filter((e) => e.type === 'payout_batch.processed');
        assert.equal(received.length, 1);
        assert.equal(received[0]!.data.id, batch.id);
        assert.equal(received[0]!.data.status, 'PROCESSED');
        assert.ok(received[0]!.data.updated);
      } finally {
        await receiver.stop();
      }
    });

    test('malformed CSV: every unreadable line is reported and nothing is created', async () => {
      const m = await batchMerchant(rig.admin);
      const p = unique('m');
      const stray = await upload(m.maker, csvOf([`${p}-1,1.00,CNY,Li"Lei,62220000,ICBC,`, `${p}-2,1.00,CNY,Li,62220000,ICBC,`, `${p}-3,1.00,CNY,Li"x,62220000,ICBC,`]));
      assertProblem(stray, 422, 'PAYOUT_BATCH_INVALID');
      assert.deepEqual(stray.body.errors!.map((e) => e.line), [2, 4]);
      assert.match(stray.body.errors![0]!.reason, /Malformed CSV/);
      const unclosed = await upload(m.maker, csvOf([`${p}-4,1.00,CNY,Li,62220000,ICBC,`, `${p}-5,"1.00,CNY,Li,62220000,ICBC,`]));
      assertProblem(unclosed, 422, 'PAYOUT_BATCH_INVALID');
      assert.equal(unclosed.body.errors!.length, 1);
      assert.match(unclosed.body.errors![0]!.reason, /Quote Not Closed/);
      const list = await m.maker.request<{ data: unknown[] }>('GET', '/v1/payout-batches');
      assert.deepEqual(list.body.data, []);
    });

    test('a wrong or missing header is one error for line 1; an empty file and a header alone are refused', async () => {
      const m = await batchMerchant(rig.admin);
      const wrong = await upload(m.maker, csvOf(['a,1.00,CNY,Li,62220000,ICBC,'], 'merchantOrderNo,amount,currency,name,accountNo,bankCode'));
      assertProblem(wrong, 422, 'PAYOUT_BATCH_INVALID');
      assert.deepEqual(wrong.body.errors!.map((e) => e.line), [1]);
      const missing = await upload(m.maker, csvOf([], 'a,1.00,CNY,Li,62220000,ICBC,'));
      assert.deepEqual(missing.body.errors!.map((e) => e.line), [1]);
      for (const body of ['', HEADER, `${HEADER}\r\n`, '\uFEFF']) {
        const empty = await upload(m.maker, body);
        assertProblem(empty, 422, 'PAYOUT_BATCH_INVALID');
        assert.deepEqual(empty.body.errors!.map((e) => e.line), [1]);
      }
    });

    test('bad amounts, currencies, fields and column counts: every bad row is listed by line, nothing is created', async () => {
      const m = await batchMerchant(rig.admin);
      const p = unique('v');
      const response = await upload(
        m.maker,
        csvOf([
          `${p}-1,100.00,CNY,Li,6222000011112222,ICBC,`,
          `${p}-2,abc,CNY,Li,6222000011112222,ICBC,`,
          `${p}-3,1.001,CNY,Li,6222000011112222,ICBC,`,
          `${p}-4,-5.00,CNY,Li,6222000011112222,ICBC,`,
          `${p}-5,0,CNY,Li,6222000011112222,ICBC,`,
          `${p}-6,1.00,XXX,Li,6222000011112222,ICBC,`,
          `${p}-7,1.00,CNY,Li,6222000011112222`,
          `${p}-8,1.00,CNY,,6222000011112222,ICBC,`,
          `bad order no!,1.00,CNY,Li,6222000011112222,ICBC,`,
          `${p}-10,1.00,USD,Li,6222000011112222,ICBC,`,
          `${p}-11,1.00,CNY,Li,6222000011112222,ICBC,,extra`,
          `${p}-12,7.00,CNY,Li,6222000011112222,ICBC,fine`,
        ]),
      );
      assertProblem(response, 422, 'PAYOUT_BATCH_INVALID');
      const errors = response.body.errors!;
      assert.deepEqual(errors.map((e) => e.line), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.equal(errors.find((e) => e.line === 7)!.code, 'UNSUPPORTED_CURRENCY');
      assert.equal(errors.find((e) => e.line === 11)!.code, 'CURRENCY_MISMATCH');
      assert.match(errors.find((e) => e.line === 8)!.reason, /7 fields/);
      assert.ok(errors.every((e) => e.reason.length > 0));
      assert.deepEqual((await m.maker.request<{ data: unknown[] }>('GET', '/v1/payout-batches')).body.data, []);
      // Nothing was kept: the good rows' order numbers are free.
      await uploaded(m.maker, csvOf([`${p}-1,100.00,CNY,Li,6222000011112222,ICBC,`, `${p}-12,7.00,CNY,Li,6222000011112222,ICBC,`]));
    });

    test('a merchantOrderNo twice in one file names the first line, also across upload chunks', async () => {
      const m = await batchMerchant(rig.admin);
      const p = unique('d');
      const rows = Array.from({ length: 1600 }, (_, i) => `${p}-${i},1.00,CNY,Li,6222000011112222,ICBC,`);
      rows[3] = `${p}-0,1.00,CNY,Li,6222000011112222,ICBC,`; // line 5 repeats line 2 (same chunk)
      rows[1500] = `${p}-7,1.00,CNY,Li,6222000011112222,ICBC,`; // line 1502 repeats line 9 (a later chunk)
      const response = await upload(m.maker, csvOf(rows));
      assertProblem(response, 422, 'PAYOUT_BATCH_INVALID');
      assert.deepEqual(
        response.body.errors!.map((e) => [e.line, e.code]),
        [
          [5, 'DUPLICATE_MERCHANT_ORDER_NO'],
          [1502, 'DUPLICATE_MERCHANT_ORDER_NO'],
        ],
      );
      assert.match(response.body.errors![0]!.reason, /line 2 /);
      assert.match(response.body.errors![1]!.reason, /line 9 /);
    });

    test('a merchantOrderNo used by a payout or by a row of another live batch is refused; a rejected batch frees its numbers', async () => {
      const m = await batchMerchant(rig.admin);
      const p = unique('u');
      const single = await postPayout(m.maker, payoutBody(`${p}-single`));
      assert.equal(single.status, 202, JSON.stringify(single.body));
      const live = await uploaded(m.maker, csvOf([`${p}-live,1.00,CNY,Li,6222000011112222,ICBC,`]));
      const response = await upload(
        m.maker,
        csvOf([`${p}-new,1.00,CNY,Li,6222000011112222,ICBC,`, `${p}-single,1.00,CNY,Li,6222000011112222,ICBC,`, `${p}-live,1.00,CNY,Li,6222000011112222,ICBC,`]),
      );
      assertProblem(response, 422, 'PAYOUT_BATCH_INVALID');
      assert.deepEqual(response.body.errors!.map((e) => [e.line, e.code]), [
        [3, 'DUPLICATE_MERCHANT_ORDER_NO'],
        [4, 'DUPLICATE_MERCHANT_ORDER_NO'],
      ]);
      assert.match(response.body.errors![0]!.reason, new RegExp(single.body.id));
      assert.match(response.body.errors![1]!.reason, new RegExp(live.id));

      const rejected = await decide(m.checker, live.id, 'reject', { reason: 'wrong month' });
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      await uploaded(m.maker, csvOf([`${p}-live,1.00,CNY,Li,6222000011112222,ICBC,`]));
    });

    test('maker-checker: a maker key cannot approve; the key that created a batch cannot approve or reject it, even a checker', async () => {
      const m = await batchMerchant(rig.admin);
      const p = unique('c');
      const byMaker = await uploaded(m.maker, csvOf([`${p}-1,1.00,CNY,Li,6222000011112222,ICBC,`]));
      assertProblem(await decide(m.maker, byMaker.id, 'approve'), 403, 'PAYOUT_BATCH_CHECKER_REQUIRED');
      assertProblem(await decide(m.maker, byMaker.id, 'reject'), 403, 'PAYOUT_BATCH_CHECKER_REQUIRED');
      const byChecker = await uploaded(m.checker, csvOf([`${p}-2,1.00,CNY,Li,6222000011112222,ICBC,`]));
      assertProblem(await decide(m.checker, byChecker.id, 'approve'), 403, 'PAYOUT_BATCH_OWN_BATCH');
      assertProblem(await decide(m.checker, byChecker.id, 'reject'), 403, 'PAYOUT_BATCH_OWN_BATCH');
      assert.equal((await getBatch(m.maker, byMaker.id)).status, 'AWAITING_APPROVAL');
      assert.equal((await getBatch(m.maker, byChecker.id)).status, 'AWAITING_APPROVAL');
      // Another merchant's checker does not even see it.
      const other = await batchMerchant(rig.admin);
      assertProblem(await decide(other.checker, byMaker.id, 'approve'), 404, 'PAYOUT_BATCH_NOT_FOUND');
    });

    test('reject cancels every row and moves no money; approving after it is 409; rejecting again is the same answer', async () => {
      const m = await batchMerchant(rig.admin, '1000.00');
      const p = unique('r');
      const batch = await uploaded(m.maker, csvOf([`${p}-1,100.00,CNY,Li,6222000011112222,ICBC,`, `${p}-2,200.00,CNY,Li,6222000011112222,ICBC,`]));
      const rejected = await decide(m.checker, batch.id, 'reject', { reason: 'duplicate payroll' });
      assert.equal(rejected.status, 200);
      assert.equal(rejected.body.status, 'REJECTED');
      assert.equal(rejected.body.rejectReason, 'duplicate payroll');
      assert.deepEqual(rejected.body.rejectedBy, { kind: 'apiKey', id: m.checker.keyId });
      assert.deepEqual(rejected.body.rows.CANCELLED, { count: 2, amount: '300.00', fee: '0.00' });
      const again = await decide(m.checker, batch.id, 'reject');
      assert.equal(again.status, 200);
      assert.equal(again.body.status, 'REJECTED');
      assertProblem(await decide(m.checker, batch.id, 'approve'), 409, 'PAYOUT_BATCH_NOT_AWAITING_APPROVAL');
      assert.deepEqual((await results(m.maker, batch.id)).map((l) => [l.status, l.payoutId]), [
        ['CANCELLED', ''],
        ['CANCELLED', ''],
      ]);
      assert.deepEqual(await balanceOf(m.maker), { balance: '1000.00', available: '1000.00', pendingDebits: '0.00' });
      const payouts = await m.maker.request<{ data: unknown[] }>('GET', `/v1/payouts?merchantOrderNo=${p}-1`);
      assert.deepEqual(payouts.body.data, []);
    });

    test('approving twice with the same checker answers the batch as it is; another checker gets 409', async () => {
      const m = await batchMerchant(rig.admin);
      const p = unique('t');
      const batch = await uploaded(m.maker, csvOf([`${p}-1,10.00,CNY,Li,6222000011112222,ICBC,`]));
      const first = await decide(m.checker, batch.id, 'approve');
      assert.equal(first.status, 200);
      const second = await decide(m.checker, batch.id, 'approve');
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.deepEqual(second.body.approvedBy, first.body.approvedBy);
      const otherKey = await rig.admin.createKey(m.merchantId, 'checker');
      const other = new MerchantClient(m.checker.base, otherKey.keyId, otherKey.secret);
      assertProblem(await decide(other, batch.id, 'approve'), 409, 'PAYOUT_BATCH_NOT_AWAITING_APPROVAL');
      assertProblem(await decide(m.checker, batch.id, 'reject'), 409, 'PAYOUT_BATCH_NOT_AWAITING_APPROVAL');
      const done = await waitForBatch(m.maker, batch.id, (b) => b.status === 'PROCESSED');
      assert.equal(done.rows.SUCCEEDED.count, 1);
    });

    test('a row refused for insufficient funds is FAILED with no money moved; the other rows are paid', async () => {
      const m = await batchMerchant(rig.admin, '500.00');
      const p = unique('f');
      const batch = await uploaded(
        m.maker,
        csvOf([
          `${p}-1,100.00,CNY,Li,6222000011112222,ICBC,`,
          `${p}-2,100000.00,CNY,Li,6222000011112222,ICBC,`,
          `${p}-3,100.00,CNY,Li,6222000011112222,ICBC,`,
          `${p}-4,100.00,CNY,Li,6222000011112222,ICBC,`,
        ]),
      );
      assert.equal((await decide(m.checker, batch.id, 'approve')).status, 200);
      const done = await waitForBatch(m.maker, batch.id, (b) => b.status === 'PROCESSED');
      assert.equal(done.rows.SUCCEEDED.count, 3);
      assert.deepEqual(done.rows.FAILED, { count: 1, amount: '100000.00', fee: '0.00' });
      const lines = await results(m.maker, batch.id);
      const refused = lines.find((l) => l.merchantOrderNo === `${p}-2`)!;
      assert.equal(refused.status, 'FAILED');
      assert.equal(refused.errorCode, 'INSUFFICIENT_FUNDS');
      assert.equal(refused.payoutId, '');
      // 500.00 - 3 x (100.00 + 0.60)
      assert.deepEqual(await balanceOf(m.maker), { balance: '198.20', available: '198.20', pendingDebits: '0.00' });
      // A refused row's order number is free again.
      const retry = await postPayout(m.maker, payoutBody(`${p}-2`, '6222000011112222', '1.00'));
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
    });

    test('/openapi.json describes the batch API (text/csv upload) and the error catalogue lists the batch codes', async () => {
      const spec = (await (await fetch(`${rig.coffer.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
      };
      assert.ok(spec.paths['/v1/payout-batches']?.post?.requestBody?.content['text/csv'], JSON.stringify(spec.paths['/v1/payout-batches']));
      assert.ok(spec.paths['/v1/payout-batches']?.get);
      for (const path of ['/v1/payout-batches/{id}/approve', '/v1/payout-batches/{id}/reject']) assert.ok(spec.paths[path]?.post, path);
      for (const path of ['/v1/payout-batches/{id}', '/v1/payout-batches/{id}/results']) assert.ok(spec.paths[path]?.get, path);
      const catalogue = JSON.stringify(await (await fetch(`${rig.coffer.url}/errors`)).json());
      for (const code of ['PAYOUT_BATCH_INVALID', 'PAYOUT_BATCH_TOO_LARGE', 'PAYOUT_BATCH_OWN_BATCH', 'PAYOUT_BATCH_CHECKER_REQUIRED']) assert.match(catalogue, new RegExp(code));
    });

    test('the merchant needs PAYOUT_BATCH; Idempotency-Key replays an upload; listing pages; another merchant’s batch is 404', async () => {
      const single = await batchMerchant(rig.admin, '100.00', ['PAYOUT_SINGLE']);
      assertProblem(await upload(single.maker, csvOf([`x-1,1.00,CNY,Li,6222000011112222,ICBC,`])), 403, 'PRODUCT_NOT_ENABLED');

      const m = await batchMerchant(rig.admin);
      const p = unique('i');
      const csv = csvOf([`${p}-1,1.00,CNY,Li,6222000011112222,ICBC,`]);
      const key = unique('idem');
      const first = await upload(m.maker, csv, { 'idempotency-key': key });
      assert.equal(first.status, 201);
      const replay = await upload(m.maker, csv, { 'idempotency-key': key });
      assert.equal(replay.status, 201);
      assert.equal(replay.body.id, first.body.id);
      assertProblem(await upload(m.maker, csvOf([`${p}-2,1.00,CNY,Li,6222000011112222,ICBC,`]), { 'idempotency-key': key }), 422, 'IDEMPOTENCY_KEY_REUSED');

      const second = await uploaded(m.maker, csvOf([`${p}-3,1.00,CNY,Li,6222000011112222,ICBC,`]));
      const third = await uploaded(m.maker, csvOf([`${p}-4,1.00,CNY,Li,6222000011112222,ICBC,`]));
      const page1 = await m.maker.request<{ data: { id: string }[]; hasMore: boolean }>('GET', '/v1/payout-batches?limit=2');
      assert.deepEqual(page1.body.data.map((b) => b.id), [third.id, second.id]);
      assert.equal(page1.body.hasMore, true);
      const page2 = await m.maker.request<{ data: { id: string }[]; hasMore: boolean }>('GET', `/v1/payout-batches?limit=2&startingAfter=${second.id}`);
      assert.deepEqual(page2.body.data.map((b) => b.id), [first.body.id]);
      assert.equal(page2.body.hasMore, false);
      const awaiting = await m.maker.request<{ data: { id: string }[] }>('GET', '/v1/payout-batches?status=AWAITING_APPROVAL');
      assert.equal(awaiting.body.data.length, 3);

      const other = await batchMerchant(rig.admin);
      assertProblem(await other.maker.request('GET', `/v1/payout-batches/${first.body.id}`), 404, 'PAYOUT_BATCH_NOT_FOUND');
      assertProblem(await other.maker.request('GET', `/v1/payout-batches/${first.body.id}/results`), 404, 'PAYOUT_BATCH_NOT_FOUND');
    });
  });
}

/**
 * The batch service against a real database (both stores) with the payouts
 * module played by a stand-in that can "crash" after accepting: the release
 * job's claims, adoption after a crash, several processes at once, and the
 * payout.final consumer's idempotence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SystemClock } from '../../src/platform/clock.ts';
import { openStore, type Store } from '../../src/platform/db/store.ts';
import { DomainError } from '../../src/platform/errors.ts';
import { createLogger } from '../../src/platform/log.ts';
import { newId } from '../../src/platform/ids.ts';
import type { Payout, PayoutInput } from '../../src/modules/payouts/index.ts';
import { validatePayoutInput } from '../../src/modules/payouts/index.ts';
import type { RecordInput } from '../../src/modules/webhooks/index.ts';
import { type BatchActor, batchView, PayoutBatchesService, type PayoutFinalPayload } from '../../src/modules/payout-batches/index.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';
import { csvOf } from './support.ts';

const MAKER: BatchActor = { kind: 'operator', id: 'op_maker' };
const CHECKER: BatchActor = { kind: 'operator', id: 'op_checker' };

/** Plays the payouts module: one payout per (merchant, merchantOrderNo), like its unique constraint. */
class FakePayouts {
  readonly payouts = new Map<string, Payout>();
  readonly acceptCalls: string[] = [];
  /** Order numbers whose next acceptance saves the payout and then "crashes" before answering. */
  readonly crashAfterAccepting = new Set<string>();
  /** When set, acceptance saves the payout and then waits for this before answering. */
  gate: Promise<void> | undefined;
  /** Order numbers whose next acceptance waits for the promise before it looks for a payout (a slow database). */
  readonly stallBeforeSaving = new Map<string, Promise<void>>();

  async accept(merchantId: string, input: PayoutInput): Promise<Payout> {
    const valid = validatePayoutInput(input);
    this.acceptCalls.push(valid.merchantOrderNo);
    await new Promise((r) => setTimeout(r, 2)); // let claims of other "processes" interleave
    const stall = this.stallBeforeSaving.get(valid.merchantOrderNo);
    this.stallBeforeSaving.delete(valid.merchantOrderNo);
    await stall;
    const existing = this.payouts.get(`${merchantId}:${valid.merchantOrderNo}`);
    if (existing) throw new DomainError('DUPLICATE_MERCHANT_ORDER_NO', 'exists', { payoutId: existing.id, status: existing.status });
    const now = new Date();
    const payout = {
      id: newId('po'),
      merchantId,
      merchantOrderNo: valid.merchantOrderNo,
      amountMinor: valid.amountMinor,
      feeMinor: 50n,
      currency: valid.currency,
      beneficiaryName: valid.beneficiary.name,
      beneficiaryAccountNo: valid.beneficiary.accountNo,
      beneficiaryBankCode: valid.beneficiary.bankCode,
      remark: valid.remark,
      status: 'ACCEPTED',
      errorCode: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
    } as Payout;
    this.payouts.set(`${merchantId}:${valid.merchantOrderNo}`, payout);
    if (this.crashAfterAccepting.delete(valid.merchantOrderNo)) throw new Error('connection lost after the commit');
    await this.gate;
    return payout;
  }

  async get(merchantId: string, id: string): Promise<Payout> {
    const found = [...this.payouts.values()].find((p) => p.id === id && p.merchantId === merchantId);
    if (!found) throw new DomainError('PAYOUT_NOT_FOUND');
    return found;
  }

  async takenOrderNos(merchantId: string, orderNos: readonly string[]): Promise<Map<string, string>> {
    return new Map(orderNos.flatMap((no) => {
      const p = this.payouts.get(`${merchantId}:${no}`);
      return p ? [[no, p.id] as [string, string]] : [];
    }));
  }
}

class FakeWebhooks {
  readonly recorded: RecordInput[] = [];
  async record(_trx: unknown, input: RecordInput) {
    this.recorded.push(input);
    return { eventId: 'evt_x', created: true };
  }
}

function service(store: Store, payouts: FakePayouts, webhooks: FakeWebhooks, leaseMs = 60_000) {
  return new PayoutBatchesService({
    db: store.db,
    clock: new SystemClock(),
    logger: createLogger({ logLevel: 'silent' }),
    merchants: { assertCanUse: async () => ({}) as never },
    payouts: payouts as never,
    webhooks,
    options: { concurrency: 4, leaseMs },
  });
}

function rows(prefix: string, n: number, accountNo = '6222000011112222'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i},1.00,CNY,Li,${accountNo},ICBC,`);
}

function final(merchantId: string, payout: Payout, status: PayoutFinalPayload['status']): PayoutFinalPayload {
  return { merchantId, status, payout: { id: payout.id, merchantOrderNo: payout.merchantOrderNo, errorCode: null, errorMessage: null } };
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`payout batch release and following (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(kind);
    });
    after(async () => {
      await store?.dispose();
    });

    test('a crash between accepting and saving the payout id: the next claim adopts that payout, never a second one', async () => {
      const payouts = new FakePayouts();
      const webhooks = new FakeWebhooks();
      const batches = service(store, payouts, webhooks, 1); // a lease of 1 ms: the next run may take the row over
      const merchantId = newId('mch');
      const p = newId('o');
      // A payout made outside this batch with an order number the batch also uses (after its upload).
      const batch = await batches.create(merchantId, csvOf([...rows(p, 3), `${p}-foreign,9.00,CNY,Li,6222000011112222,ICBC,`]), MAKER);
      await payouts.accept(merchantId, { merchantOrderNo: `${p}-foreign`, amount: '5.00', currency: 'CNY', beneficiary: { name: 'Other', accountNo: '62220000', bankCode: 'ICBC' } });
      payouts.acceptCalls.length = 0;
      payouts.crashAfterAccepting.add(`${p}-1`);
      await batches.approve(merchantId, batch.id, CHECKER);
      await batches.stop().catch(() => undefined); // the approval's own wake: let it finish
      const again = service(store, payouts, webhooks, 1);
      await again.releaseDue();
      const view = await again.get(merchantId, batch.id);
      assert.equal(view.rows.ACCEPTED.count, 3, JSON.stringify(batchView(view).rows));
      assert.equal(view.rows.FAILED.count, 1, 'the foreign payout is not adopted');
      assert.equal(view.status, 'PROCESSING');
      assert.equal(payouts.acceptCalls.filter((no) => no === `${p}-1`).length, 2, 'row 1 was tried twice');
      assert.equal([...payouts.payouts.values()].filter((x) => x.merchantOrderNo === `${p}-1`).length, 1, 'and has one payout');
      const lines = [];
      for await (const line of await again.resultsCsv(merchantId, batch.id)) lines.push(line);
      const row1 = lines.find((l) => l.startsWith(`${p}-1,`))!;
      assert.ok(row1.includes(payouts.payouts.get(`${merchantId}:${p}-1`)!.id), row1);
      assert.ok(lines.find((l) => l.startsWith(`${p}-foreign,`))!.includes('DUPLICATE_MERCHANT_ORDER_NO'));
    });

    test('a claim still running after its lease ran out loses the insert to the next claim: the row keeps that payout, never FAILED', async () => {
      const payouts = new FakePayouts();
      const webhooks = new FakeWebhooks();
      const slow = service(store, payouts, webhooks, 1);
      const merchantId = newId('mch');
      const p = newId('o');
      const batch = await slow.create(merchantId, csvOf(rows(p, 2)), MAKER);
      let resume!: () => void;
      payouts.stallBeforeSaving.set(`${p}-0`, new Promise<void>((r) => (resume = r)));
      await slow.approve(merchantId, batch.id, CHECKER); // its wake claims both rows; row 0 stalls
      while (!payouts.acceptCalls.includes(`${p}-0`)) await new Promise((r) => setTimeout(r, 5));
      const next = service(store, payouts, webhooks);
      await next.releaseDue(); // the 1 ms lease is over: row 0 is claimed again and its payout saved
      resume();
      await slow.stop();
      const view = await next.get(merchantId, batch.id);
      assert.deepEqual([view.rows.ACCEPTED.count, view.rows.FAILED.count], [2, 0], JSON.stringify(batchView(view).rows));
      assert.equal(payouts.acceptCalls.filter((no) => no === `${p}-0`).length, 2, 'row 0 was accepted by both claims');
      assert.equal([...payouts.payouts.values()].filter((x) => x.merchantOrderNo === `${p}-0`).length, 1, 'one payout');
    });

    test('an upload retried with its Idempotency-Key after the first one committed (its answer lost) gets that batch, not a 422 for its own order numbers', async () => {
      const batches = service(store, new FakePayouts(), new FakeWebhooks());
      const merchantId = newId('mch');
      const file = csvOf(rows(newId('o'), 3));
      const first = await batches.create(merchantId, file, MAKER, 'upload-1');
      const retried = await batches.create(merchantId, file, MAKER, 'upload-1');
      assert.equal(retried.id, first.id);
      assert.equal(retried.rowCount, 3);
      await assert.rejects(batches.create(merchantId, file, MAKER, 'upload-2'), (err: DomainError) => err.code === 'PAYOUT_BATCH_INVALID', 'another key is another upload');
      const otherMerchant = await batches.create(newId('mch'), csvOf(rows(newId('o'), 1)), MAKER, 'upload-1');
      assert.notEqual(otherMerchant.id, first.id, 'keys are per merchant');
    });

    test('several processes release one batch at once: each row is accepted exactly once', async () => {
      const payouts = new FakePayouts();
      const webhooks = new FakeWebhooks();
      // On the server store a second pool is a second process's connections.
      const second: Store = store.url ? await openStore({ databaseUrl: store.url, poolSize: 4 }) : store;
      try {
        const processes = [service(store, payouts, webhooks), service(second, payouts, webhooks), service(store, payouts, webhooks)];
        const merchantId = newId('mch');
        const batch = await processes[0]!.create(merchantId, csvOf(rows(newId('o'), 120)), MAKER);
        await processes[1]!.approve(merchantId, batch.id, CHECKER);
        await Promise.all(processes.map((p) => p.releaseDue()));
        assert.equal(payouts.acceptCalls.length, 120);
        assert.equal(new Set(payouts.acceptCalls).size, 120);
        const view = await processes[2]!.get(merchantId, batch.id);
        assert.equal(view.rows.ACCEPTED.count, 120);
        assert.equal(view.status, 'PROCESSING');
        await Promise.all(processes.map((p) => p.stop()));
      } finally {
        if (second !== store) await second.close();
      }
    });

    test('payout.final moves rows once: redeliveries and late messages change nothing; PROCESSED records one webhook event', async () => {
      const payouts = new FakePayouts();
      const webhooks = new FakeWebhooks();
      const batches = service(store, payouts, webhooks);
      const merchantId = newId('mch');
      const p = newId('o');
      const batch = await batches.create(merchantId, csvOf(rows(p, 3)), MAKER);
      await batches.approve(merchantId, batch.id, CHECKER);
      await batches.releaseDue();
      const [a, b, c] = [0, 1, 2].map((i) => payouts.payouts.get(`${merchantId}:${p}-${i}`)!);

      await batches.handlePayoutFinal(final(merchantId, a!, 'SUCCEEDED'));
      await batches.handlePayoutFinal(final(merchantId, a!, 'SUCCEEDED')); // redelivered
      await batches.handlePayoutFinal(final(merchantId, b!, 'REVERSED')); // before its SUCCEEDED
      await batches.handlePayoutFinal(final(merchantId, b!, 'SUCCEEDED')); // late: REVERSED stands
      assert.equal((await batches.get(merchantId, batch.id)).status, 'PROCESSING');
      assert.equal(webhooks.recorded.length, 0);

      await Promise.all([batches.handlePayoutFinal(final(merchantId, c!, 'FAILED')), batches.handlePayoutFinal(final(merchantId, c!, 'FAILED'))]);
      const view = await batches.get(merchantId, batch.id);
      assert.equal(view.status, 'PROCESSED');
      assert.deepEqual([view.rows.SUCCEEDED.count, view.rows.REVERSED.count, view.rows.FAILED.count], [1, 1, 1]);
      assert.equal(webhooks.recorded.length, 1);
      assert.equal(webhooks.recorded[0]!.type, 'payout_batch.processed');
      assert.equal(webhooks.recorded[0]!.sourceKey, `payout_batch:${batch.id}:PROCESSED`);
      assert.equal((webhooks.recorded[0]!.data as { status: string }).status, 'PROCESSED');

      // A later reversal still updates the row, and records no second batch event.
      await batches.handlePayoutFinal(final(merchantId, a!, 'REVERSED'));
      const later = await batches.get(merchantId, batch.id);
      assert.equal(later.rows.REVERSED.count, 2);
      assert.equal(webhooks.recorded.length, 1);
      // Payouts that are no batch's are ignored.
      const single = await payouts.accept(merchantId, { merchantOrderNo: newId('s'), amount: '1.00', currency: 'CNY', beneficiary: { name: 'X', accountNo: '62220000', bankCode: 'B' } });
      await batches.handlePayoutFinal(final(merchantId, single, 'SUCCEEDED'));
    });

    test('a payout final before its row saved the payout id is retried, then applied', async () => {
      const payouts = new FakePayouts();
      const webhooks = new FakeWebhooks();
      const batches = service(store, payouts, webhooks);
      const merchantId = newId('mch');
      const p = newId('o');
      const batch = await batches.create(merchantId, csvOf(rows(p, 1)), MAKER);
      let open = () => {};
      payouts.gate = new Promise((resolve) => (open = resolve));
      await batches.approve(merchantId, batch.id, CHECKER); // wakes the release: it waits at the gate
      let payout: Payout | undefined;
      while (!(payout = payouts.payouts.get(`${merchantId}:${p}-0`))) await new Promise((r) => setTimeout(r, 5));
      await assert.rejects(batches.handlePayoutFinal(final(merchantId, payout, 'SUCCEEDED')), /try again/);
      open();
      await batches.releaseDue();
      await batches.handlePayoutFinal(final(merchantId, payout, 'SUCCEEDED'));
      const view = await batches.get(merchantId, batch.id);
      assert.equal(view.status, 'PROCESSED');
      assert.equal(view.rows.SUCCEEDED.count, 1);
    });

    test('a batch whose every row is refused goes straight from APPROVED to PROCESSED', async () => {
      const payouts = new FakePayouts();
      const webhooks = new FakeWebhooks();
      const batches = service(store, payouts, webhooks);
      const merchantId = newId('mch');
      const p = newId('o');
      const batch = await batches.create(merchantId, csvOf(rows(p, 2)), MAKER);
      for (const row of [0, 1]) await payouts.accept(merchantId, { merchantOrderNo: `${p}-${row}`, amount: '2.00', currency: 'CNY', beneficiary: { name: 'Y', accountNo: '62220000', bankCode: 'B' } });
      await batches.approve(merchantId, batch.id, CHECKER);
      await batches.releaseDue();
      const view = await batches.get(merchantId, batch.id);
      assert.equal(view.status, 'PROCESSED');
      assert.equal(view.rows.FAILED.count, 2);
      assert.equal(webhooks.recorded.length, 1);
    });
  });
}

/**
 * Single payouts end to end (SPEC 5) over real HTTP with real signing, against
 * the real bank simulator's payout channel, on the embedded store and on a
 * PostgreSQL server. Every test ends with the ledger's invariants green.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { verifyWebhookSignature } from '../../src/modules/webhooks/verify.ts';
import { testStoreKinds } from '../support/stores.ts';
import { createEndpoint, Receiver, waitFor } from '../webhooks/support.ts';
import {
  accountBalance,
  assertInvariants,
  assertProblem,
  balanceOf,
  createBooks,
  decisionsOf,
  fundedMerchant,
  getPayout,
  notify,
  payoutBody,
  type PayoutView,
  postPayout,
  type Rig,
  sleep,
  startRig,
  transfer,
  unique,
  waitForStatus,
} from './support.ts';

for (const { kind, skip } of await testStoreKinds()) {
  describe(`payouts end to end with the bank's payout channel (${kind})`, { skip }, () => {
    let rig: Rig;
    let disposeBooks = async () => {};

    before(async () => {
      const books = await createBooks(kind);
      disposeBooks = () => books.dispose();
      rig = await startRig(books, { WEBHOOK_POLL_INTERVAL_MS: '25' });
    });

    after(async () => {
      await rig?.close();
      await disposeBooks();
    });

    afterEach(async () => {
      if (rig) await assertInvariants(rig.admin);
    });

    test('the merchant’s webhook endpoint gets payout.succeeded, then payout.reversed, signed over the raw body', async () => {
      const receiver = new Receiver();
      await receiver.start();
      try {
        const { client } = await fundedMerchant(rig.admin);
        const endpoint = await createEndpoint(client, receiver.url('/hooks'));
        const p = (await postPayout(client, payoutBody(unique('ord'), '6222000000000003'))).body;
        await waitForStatus(client, p.id, 'REVERSED');
        const events = await waitFor('both webhook events', async () => {
          const got = receiver.at('/hooks').map((r) => ({ r, body: JSON.parse(r.raw.toString('utf8')) as { id: string; type: string; data: { id: string; status: string; updated: string } } }));
          return got.length >= 2 ? got : undefined;
        });
        assert.deepEqual(events.map((e) => e.body.type), ['payout.succeeded', 'payout.reversed']);
        for (const { r, body } of events) {
          assert.equal(body.data.id, p.id);
          assert.match(body.id, /^evt_/);
          assert.deepEqual(verifyWebhookSignature(r.raw, r.headers['x-coffer-signature'] as string, endpoint.secret), { ok: true });
        }
        assert.ok(Date.parse(events[1]!.body.data.updated) >= Date.parse(events[0]!.body.data.updated), 'receivers can order events by updated');
      } finally {
        await receiver.stop();
      }
    });

    test('an accepted payout succeeds: both holds posted, the merchant pays amount + fee, fee income grows', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const accepted = await postPayout(client, payoutBody(unique('ord')));
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      const p = accepted.body;
      assert.match(p.id, /^po_/);
      assert.deepEqual([p.status, p.amount, p.fee, p.currency, p.riskLevel], ['ACCEPTED', '100.00', '1.50', 'CNY', 'LOW']);
      assert.deepEqual(p.beneficiary, { name: 'Li Lei', accountNo: '6222000011112222', bankCode: 'ICBC' });
      assert.ok(p.created && p.updated);

      const feeHold = await transfer(rig.admin, `payout:${p.id}:fee`);
      const feeIncomeBefore = await accountBalance(rig.admin, feeHold.body.creditAccountId);
      const done = await waitForStatus(client, p.id, 'SUCCEEDED');
      assert.ok(done.channelRef, 'the bank reference is kept');
      assert.ok(Date.parse(done.updated) >= Date.parse(p.updated));
      assert.deepEqual(await balanceOf(client), { balance: '898.50', available: '898.50', pendingDebits: '0.00' });
      assert.equal((await transfer(rig.admin, `payout:${p.id}:amount`)).body.state, 'POSTED');
      assert.equal((await transfer(rig.admin, `payout:${p.id}:fee`)).body.state, 'POSTED');
      const feeIncomeAfter = await accountBalance(rig.admin, feeHold.body.creditAccountId);
      assert.equal(Math.round((Number(feeIncomeAfter) - Number(feeIncomeBefore)) * 100), 150, 'fee income up by the fee');
    });

    test('beneficiary 0002 fails with ACCOUNT_CLOSED: holds voided, balance restored, risk decision released', async () => {
      const { merchant, client } = await fundedMerchant(rig.admin);
      const p = (await postPayout(client, payoutBody(unique('ord'), '6222000000000002'))).body;
      assert.equal((await balanceOf(client)).available, '898.50', 'amount + fee held at acceptance');
      const failed = await waitForStatus(client, p.id, 'FAILED');
      assert.equal(failed.errorCode, 'ACCOUNT_CLOSED');
      assert.deepEqual(await balanceOf(client), { balance: '1000.00', available: '1000.00', pendingDebits: '0.00' });
      assert.equal((await transfer(rig.admin, `payout:${p.id}:amount`)).body.state, 'VOIDED');
      assert.equal((await transfer(rig.admin, `payout:${p.id}:fee`)).body.state, 'VOIDED');
      const decision = (await decisionsOf(rig.admin, merchant.merchantId)).find((d) => d.reference === p.id);
      assert.ok(decision?.releasedAt, 'the decision no longer counts toward daily limits');
    });

    test('beneficiary 0003 succeeds, then is reversed: amount and fee come back with new transfers', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const p = (await postPayout(client, payoutBody(unique('ord'), '6222000000000003'))).body;
      await waitForStatus(client, p.id, 'SUCCEEDED');
      const reversed = await waitForStatus(client, p.id, 'REVERSED');
      assert.equal(reversed.errorCode, 'RETURNED_BY_BENEFICIARY_BANK');
      assert.deepEqual(await balanceOf(client), { balance: '1000.00', available: '1000.00', pendingDebits: '0.00' });
      assert.equal((await transfer(rig.admin, `payout:${p.id}:amount`)).body.state, 'POSTED', 'the holds stay posted');
      for (const part of ['amount', 'fee']) {
        const back = await transfer(rig.admin, `payout:${p.id}:reversal:${part}`);
        assert.equal(back.status, 200, `reversal transfer of the ${part}`);
        assert.equal(back.body.amount, part === 'amount' ? '100.00' : '1.50');
      }
    });

    test('beneficiary 0004 times out at the channel: PROCESSING, then settled by the query job', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const p = (await postPayout(client, payoutBody(unique('ord'), '6222000000000004'))).body;
      // The bank holds the order 3 s (Coffer gives up after 400 ms) and says nothing until it is
      // queried, so reaching SUCCEEDED at all proves the query job settled it.
      assert.ok(['ACCEPTED', 'PROCESSING'].includes((await getPayout(client, p.id)).status));
      const done = await waitForStatus(client, p.id, 'SUCCEEDED', 2_500);
      assert.ok(done.channelRef, 'the query answer carried the bank reference');
      assert.deepEqual(await balanceOf(client), { balance: '898.50', available: '898.50', pendingDebits: '0.00' });
      const atBank = await fetch(`${rig.bankUrl}/sandbox/payouts?payoutId=${p.id}`).then((r) => r.json() as Promise<unknown[]>);
      assert.equal(atBank.length, 1, 'queried, never sent as a second payout');
    });

    test('a duplicate merchantOrderNo is 409 naming the existing payout', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const orderNo = unique('ord');
      const first = (await postPayout(client, payoutBody(orderNo))).body;
      const second = await postPayout(client, payoutBody(orderNo, '6222000011113333', '5.00'));
      const problem = assertProblem(second, 409, 'DUPLICATE_MERCHANT_ORDER_NO');
      assert.equal(problem.payoutId, first.id);
      await waitForStatus(client, first.id, 'SUCCEEDED');
      assert.deepEqual(await balanceOf(client), { balance: '898.50', available: '898.50', pendingDebits: '0.00' });
    });

    test('two payouts with one merchantOrderNo at once: exactly one wins and nothing stays held', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const orderNo = unique('ord');
      const answers = await Promise.all([
        postPayout(client, payoutBody(orderNo, '6222000011112222', '100.00')),
        postPayout(client, payoutBody(orderNo, '6222000011114444', '200.00')),
      ]);
      const won = answers.filter((a) => a.status === 202);
      const lost = answers.filter((a) => a.status === 409);
      assert.equal(won.length, 1, JSON.stringify(answers.map((a) => a.body)));
      assert.equal(lost.length, 1);
      assert.equal(assertProblem(lost[0]!, 409, 'DUPLICATE_MERCHANT_ORDER_NO').payoutId, won[0]!.body.id);
      await waitForStatus(client, won[0]!.body.id, 'SUCCEEDED');
      // Fee: 1.00 fixed + 0.5 %, at least 1.50: 1.50 on 100.00, 2.00 on 200.00.
      const paid = won[0]!.body.amount === '100.00' ? '898.50' : '798.00';
      assert.deepEqual(await balanceOf(client), { balance: paid, available: paid, pendingDebits: '0.00' });
    });

    test('an Idempotency-Key replay returns the same payout and pays once', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const body = payoutBody(unique('ord'));
      const key = unique('idem');
      const first = await postPayout(client, body, { 'idempotency-key': key });
      const again = await postPayout(client, body, { 'idempotency-key': key });
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.equal(again.body.id, first.body.id);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assertProblem(await postPayout(client, { ...body, amount: '1.00' }, { 'idempotency-key': key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      await waitForStatus(client, first.body.id, 'SUCCEEDED');
      assert.equal((await balanceOf(client)).balance, '898.50');
    });

    test('too little on the settlement account: 409 INSUFFICIENT_FUNDS, nothing held, decision released', async () => {
      const { merchant, client } = await fundedMerchant(rig.admin, '100.00');
      const refused = await postPayout(client, payoutBody(unique('ord')));
      assertProblem(refused, 409, 'INSUFFICIENT_FUNDS');
      assert.deepEqual(await balanceOf(client), { balance: '100.00', available: '100.00', pendingDebits: '0.00' });
      const decisions = await decisionsOf(rig.admin, merchant.merchantId);
      assert.equal(decisions.length, 1);
      assert.ok(decisions[0]!.releasedAt, 'the decision of a payout never made does not count');
      assert.deepEqual((await client.request<{ data: unknown[] }>('GET', '/v1/payouts')).body.data, []);
    });

    test('a suspended merchant and a merchant without PAYOUT_SINGLE are refused', async () => {
      const { merchant, client } = await fundedMerchant(rig.admin);
      await rig.admin.ok('POST', `/admin/merchants/${merchant.merchantId}/suspend`, undefined, 200);
      assertProblem(await postPayout(client, payoutBody(unique('ord'))), 401, 'MERCHANT_SUSPENDED');

      const batchOnly = await fundedMerchant(rig.admin, '1000.00', { products: ['PAYOUT_BATCH'], fees: [] });
      assertProblem(await postPayout(batchOnly.client, payoutBody(unique('ord'))), 403, 'PRODUCT_NOT_ENABLED');
      assert.deepEqual(await balanceOf(batchOnly.client), { balance: '1000.00', available: '1000.00', pendingDebits: '0.00' });
    });

    test('a blacklisted beneficiary account is refused (RISK_REJECTED), nothing held, the decision recorded', async () => {
      const { merchant, client } = await fundedMerchant(rig.admin);
      const account = `6222${String(Date.now()).slice(-8)}7777`;
      await rig.admin.ok('POST', '/admin/risk/blacklist', { kind: 'BENEFICIARY_ACCOUNT', value: account, reason: 'fraud report' });
      const refused = await postPayout(client, payoutBody(unique('ord'), account));
      const problem = assertProblem(refused, 403, 'RISK_REJECTED');
      const decisions = await decisionsOf(rig.admin, merchant.merchantId);
      assert.equal(decisions.length, 1);
      assert.equal(decisions[0]!.level, 'REJECT');
      assert.equal(problem.decisionId, decisions[0]!.decisionId);
      assert.deepEqual(await balanceOf(client), { balance: '1000.00', available: '1000.00', pendingDebits: '0.00' });
    });

    test('a forged notification is refused and changes nothing', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const p = (await postPayout(client, payoutBody(unique('ord')))).body;
      await waitForStatus(client, p.id, 'SUCCEEDED');
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const forged = await notify(rig, { payoutId: p.id, status: 'REVERSED', amount: '100.00', currency: 'CNY', errorCode: 'X' }, stranger);
      assert.equal(forged.status, 401);
      assert.equal(JSON.parse(forged.body).code, 'INVALID_SIGNATURE');
      const wrongAmount = await notify(rig, { payoutId: p.id, status: 'REVERSED', amount: '99.00', currency: 'CNY' });
      assert.equal(wrongAmount.status, 422, 'signed but not about this payout');
      const unknown = await notify(rig, { payoutId: 'po_nosuchpayout', status: 'SUCCEEDED' });
      assert.equal(unknown.status, 404);
      assert.equal((await getPayout(client, p.id)).status, 'SUCCEEDED');
      assert.equal((await balanceOf(client)).balance, '898.50');
    });

    test('a result notified 3 times and out of order (REVERSED before SUCCEEDED) moves money once', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const p = (await postPayout(client, payoutBody(unique('ord'), '6222000011115555'))).body;
      const reversed = { payoutId: p.id, status: 'REVERSED' as const, amount: '100.00', currency: 'CNY', errorCode: 'RETURNED_BY_BENEFICIARY_BANK' };
      const succeeded = { payoutId: p.id, status: 'SUCCEEDED' as const, amount: '100.00', currency: 'CNY' };
      const answers = await Promise.all([notify(rig, reversed), notify(rig, reversed), notify(rig, succeeded)]);
      answers.push(await notify(rig, reversed), await notify(rig, succeeded), await notify(rig, succeeded));
      for (const answer of answers) assert.deepEqual(answer, { status: 200, body: 'OK' });
      const failedLate = await notify(rig, { payoutId: p.id, status: 'FAILED', amount: '100.00', currency: 'CNY', errorCode: 'LATE' });
      assert.deepEqual(failedLate, { status: 200, body: 'OK' }, 'a contradiction is acknowledged, logged, and ignored');
      const final = await waitForStatus(client, p.id, 'REVERSED');
      assert.equal(final.errorCode, 'RETURNED_BY_BENEFICIARY_BANK');
      await sleep(300); // the bank's own SUCCEEDED notification arrives late too
      assert.equal((await getPayout(client, p.id)).status, 'REVERSED');
      assert.deepEqual(await balanceOf(client), { balance: '1000.00', available: '1000.00', pendingDebits: '0.00' }, 'returned once, not twice');
    });

    test('another merchant cannot read the payout; the owner finds it by id, merchantOrderNo and pages', async () => {
      const owner = await fundedMerchant(rig.admin);
      const other = await fundedMerchant(rig.admin);
      const orderNos = [unique('ord'), unique('ord'), unique('ord')];
      const made: PayoutView[] = [];
      for (const orderNo of orderNos) made.push((await postPayout(owner.client, payoutBody(orderNo, '6222000011112222', '10.00'))).body);

      assertProblem(await other.client.request('GET', `/v1/payouts/${made[0]!.id}`), 404, 'PAYOUT_NOT_FOUND');
      assert.deepEqual((await other.client.request<{ data: unknown[] }>('GET', `/v1/payouts?merchantOrderNo=${orderNos[0]}`)).body.data, []);

      const byOrderNo = await owner.client.request<{ data: PayoutView[]; hasMore: boolean }>('GET', `/v1/payouts?merchantOrderNo=${orderNos[1]}`);
      assert.deepEqual(byOrderNo.body.data.map((p) => p.id), [made[1]!.id]);

      const seen: string[] = [];
      let cursor = '';
      for (;;) {
        const page = await owner.client.request<{ data: PayoutView[]; hasMore: boolean }>('GET', `/v1/payouts?limit=2${cursor}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        seen.push(...page.body.data.map((p) => p.id));
        if (!page.body.hasMore) break;
        cursor = `&startingAfter=${page.body.data.at(-1)!.id}`;
      }
      assert.deepEqual(seen, made.map((p) => p.id).reverse(), 'newest first, each once');
      for (const p of made) await waitForStatus(owner.client, p.id, 'SUCCEEDED');
      const succeeded = await owner.client.request<{ data: PayoutView[] }>('GET', '/v1/payouts?status=SUCCEEDED&limit=10');
      assert.equal(succeeded.body.data.length, 3);
      assertProblem(await owner.client.request('GET', '/v1/payouts?status=DONE'), 400, 'VALIDATION_FAILED');
      const tooLong = payoutBody(unique('ord'), '6'.repeat(35));
      assertProblem(await postPayout(owner.client, tooLong), 400, 'VALIDATION_FAILED');
      assertProblem(await postPayout(owner.client, { ...payoutBody(unique('ord')), amount: '1.001' }), 400, 'INVALID_AMOUNT');
      assertProblem(await postPayout(owner.client, { ...payoutBody(unique('ord')), extra: 1 }), 400, 'VALIDATION_FAILED');
    });

    test('/openapi.json describes the payout API and the error catalogue lists the payout codes', async () => {
      const spec = (await (await fetch(`${rig.coffer.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      assert.ok(spec.paths['/v1/payouts']?.post && spec.paths['/v1/payouts']?.get);
      assert.ok(spec.paths['/v1/payouts/{id}']?.get);
      assert.ok(spec.paths['/channel/payout-notifications']?.get);
      const catalogue = JSON.stringify(await (await fetch(`${rig.coffer.url}/errors`)).json());
      for (const code of ['DUPLICATE_MERCHANT_ORDER_NO', 'PAYOUT_NOT_FOUND', 'PAYOUT_RESULT_MISMATCH']) assert.match(catalogue, new RegExp(code));
    });

    test('a HIGH risk payout waits for review: approval sends it, rejection fails it and returns the hold', async () => {
      const { client } = await fundedMerchant(rig.admin, '3000000.00');
      const approved = (await postPayout(client, payoutBody(unique('ord'), '6222000011112222', '1000000.00'))).body;
      const rejected = (await postPayout(client, payoutBody(unique('ord'), '6222000011112222', '1000000.00'))).body;
      assert.deepEqual([approved.riskLevel, approved.reviewPending], ['HIGH', true]);
      await sleep(300);
      assert.equal((await getPayout(client, approved.id)).status, 'ACCEPTED', 'not sent before the review');
      const queue = await rig.admin.ok<{ data: { decisionId: string; reference: string }[] }>('GET', '/admin/risk/reviews?status=PENDING');
      const decisionOf = (id: string) => queue.data.find((d) => d.reference === id)!.decisionId;
      await rig.admin.ok('POST', `/admin/risk/reviews/${decisionOf(approved.id)}/approve`, { note: 'known payee' }, 200);
      await rig.admin.ok('POST', `/admin/risk/reviews/${decisionOf(rejected.id)}/reject`, { note: 'looks wrong' }, 200);
      await waitForStatus(client, approved.id, 'SUCCEEDED');
      const failed = await waitForStatus(client, rejected.id, 'FAILED');
      assert.equal(failed.errorCode, 'RISK_REVIEW_REJECTED');
      assert.equal((await transfer(rig.admin, `payout:${rejected.id}:amount`)).body.state, 'VOIDED');
      const fee = approved.fee;
      assert.equal(fee, '5001.00');
      assert.deepEqual(await balanceOf(client), { balance: '1994999.00', available: '1994999.00', pendingDebits: '0.00' });
    });
  });
}

/**
 * The merchants module's public surface for the payouts module
 * (assertCanUse, feeFor, settlementAccount) and its recovery job, against a
 * real database on both stores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { LedgerService, type TransferRequest } from '../../src/modules/ledger/index.ts';
import { MerchantsService, SecretBox, signMerchantRequest } from '../../src/modules/merchants/index.ts';
import type { Clock } from '../../src/platform/clock.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const storeKinds = await testStoreKinds();

class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** A ledger whose next transfer dies like a process killed mid-request (not a business refusal). */
class CrashingLedger extends LedgerService {
  crashes = 0;
  override async transfer(request: TransferRequest) {
    if (this.crashes > 0) {
      this.crashes -= 1;
      throw new Error('process killed');
    }
    return super.transfer(request);
  }
}

const ACTOR = { principal: { kind: 'system', id: 'test' } };

for (const { kind, skip } of storeKinds) {
  describe(`merchants service surface (${kind} store)`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let ledger: CrashingLedger;
    let merchants: MerchantsService;
    const clock = new TestClock();

    before(async () => {
      store = await openTestStore(kind);
      ledger = new CrashingLedger({ db: store.db, clock, writer: { mode: 'single', maxBatchSize: 10, concurrency: 1 } });
      merchants = new MerchantsService({ db: store.db, clock, requestClock: clock, ledger, secrets: new SecretBox(randomBytes(32)) });
    });

    after(async () => {
      await store?.dispose();
    });

    test('signed requests are checked against real time, not the business clock the sandbox test clock moves', async () => {
      const businessClock = new TestClock();
      businessClock.offsetMs = 30 * 86_400_000;
      const advanced = new MerchantsService({ db: store.db, clock: businessClock, ledger, secrets: new SecretBox(randomBytes(32)) });
      const merchant = await advanced.createMerchant({ name: 'Signs in real time', products: ['PAYOUT_SINGLE'] }, ACTOR);
      const { key, secret } = await advanced.createApiKey(merchant.id, undefined, ACTOR);
      const signed = signMerchantRequest({ keyId: key.id, secret, method: 'GET', path: '/v1/merchant' });
      const verified = await advanced.verifySignedRequest({
        keyId: signed['x-coffer-key'],
        timestamp: signed['x-coffer-timestamp'],
        signature: signed['x-coffer-signature'],
        method: 'GET',
        url: '/v1/merchant',
        body: Buffer.alloc(0),
      });
      assert.equal(verified.merchantId, merchant.id);
    });

    test('assertCanUse: only an ACTIVE merchant with the product enabled passes', async () => {
      const merchant = await merchants.createMerchant({ name: 'Guarded', products: ['PAYOUT_SINGLE'] }, ACTOR);
      await assert.rejects(merchants.assertCanUse(merchant.id, 'PAYOUT_SINGLE'), { code: 'MERCHANT_NOT_ACTIVE' });
      await merchants.activate(merchant.id, ACTOR);
      assert.equal((await merchants.assertCanUse(merchant.id, 'PAYOUT_SINGLE')).id, merchant.id);
      await assert.rejects(merchants.assertCanUse(merchant.id, 'PAYOUT_BATCH'), { code: 'PRODUCT_NOT_ENABLED' });
      // Inside a transaction (as the payouts module will call it), with the row share-locked.
      await store.db.transaction().execute((trx) => merchants.assertCanUse(merchant.id, 'PAYOUT_SINGLE', trx));
      await merchants.suspend(merchant.id, ACTOR);
      await assert.rejects(merchants.assertCanUse(merchant.id, 'PAYOUT_SINGLE'), { code: 'MERCHANT_NOT_ACTIVE' });
      await assert.rejects(merchants.assertCanUse('mch_nope', 'PAYOUT_SINGLE'), { code: 'MERCHANT_NOT_FOUND' });
    });

    test('feeFor: the rule for the product and currency; none means no fee', async () => {
      const merchant = await merchants.createMerchant(
        {
          name: 'Fees',
          products: ['PAYOUT_SINGLE', 'PAYOUT_BATCH'],
          fees: [
            { product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.00', rateBp: 30, min: '2.00', max: '25.00' },
            { product: 'PAYOUT_BATCH', currency: 'JPY', fixed: '50', rateBp: 5 },
          ],
        },
        ACTOR,
      );
      assert.deepEqual(await merchants.feeFor(merchant.id, 'PAYOUT_SINGLE', 100_000n, 'CNY'), { amountMinor: 400n, currency: 'CNY' });
      assert.deepEqual(await merchants.feeFor(merchant.id, 'PAYOUT_SINGLE', 100n, 'CNY'), { amountMinor: 200n, currency: 'CNY' });
      assert.deepEqual(await merchants.feeFor(merchant.id, 'PAYOUT_BATCH', 10_000n, 'JPY'), { amountMinor: 55n, currency: 'JPY' });
      assert.deepEqual(await merchants.feeFor(merchant.id, 'PAYOUT_BATCH', 10_000n, 'CNY'), { amountMinor: 0n, currency: 'CNY' });
      await assert.rejects(merchants.feeFor('mch_nope', 'PAYOUT_BATCH', 1n, 'CNY'), { code: 'MERCHANT_NOT_FOUND' });
    });

    test('settlementAccount: one MERCHANT_SETTLEMENT account per currency, opened once even when asked concurrently', async () => {
      const merchant = await merchants.createMerchant({ name: 'Accounts', products: [] }, ACTOR);
      const accounts = await Promise.all(Array.from({ length: 6 }, () => merchants.settlementAccount(merchant.id, 'CNY')));
      assert.equal(new Set(accounts.map((a) => a.id)).size, 1);
      const [account] = accounts;
      assert.equal(account!.ownerKind, 'MERCHANT');
      assert.equal(account!.ownerId, merchant.id);
      assert.equal(account!.type, 'MERCHANT_SETTLEMENT');
      assert.equal(account!.noOverdraft, true, 'a merchant account may never go below zero');
      const usd = await merchants.settlementAccount(merchant.id, 'USD');
      assert.notEqual(usd.id, account!.id);
      assert.deepEqual((await merchants.settlementAccounts(merchant.id)).map((a) => a.currency).sort(), ['CNY', 'USD']);
    });

    test('signed requests of one moment share one replay-guard insert: each new one passes once, a copy in the same group is refused', async () => {
      const merchant = await merchants.createMerchant({ name: 'Burst', products: [] }, ACTOR);
      const { key, secret } = await merchants.createApiKey(merchant.id, undefined, ACTOR);
      const requests = Array.from({ length: 8 }, (_, i) => {
        const body = JSON.stringify({ n: i });
        const signed = signMerchantRequest({ keyId: key.id, secret, method: 'POST', path: '/v1/payouts', body });
        return { keyId: key.id, timestamp: signed['x-coffer-timestamp'], signature: signed['x-coffer-signature'], method: 'POST', url: '/v1/payouts', body: Buffer.from(body) };
      });
      const results = await Promise.allSettled([...requests, requests[3]!].map((r) => merchants.verifySignedRequest(r)));
      assert.deepEqual(results.map((r) => r.status), [...requests.map(() => 'fulfilled'), 'rejected']);
      assert.equal(((results.at(-1) as PromiseRejectedResult).reason as { code: string }).code, 'REPLAYED_REQUEST');
      const { rows } = await sql<{ n: number; transactions: number }>`
        select count(*)::int as n, count(distinct xmin::text)::int as transactions from merchant_request_nonces where key_id = ${key.id}`.execute(store.db);
      assert.deepEqual(rows[0], { n: 8, transactions: 1 }, 'eight requests seen, in one statement');
      await assert.rejects(merchants.verifySignedRequest(requests[5]!), { code: 'REPLAYED_REQUEST' });
    });

    test('seen signatures are forgotten once their timestamp is out of the window anyway', async () => {
      const merchant = await merchants.createMerchant({ name: 'Nonces', products: [] }, ACTOR);
      const { key, secret } = await merchants.createApiKey(merchant.id, undefined, ACTOR);
      const signed = signMerchantRequest({ keyId: key.id, secret, method: 'GET', path: '/v1/merchant' });
      const request = {
        keyId: signed['x-coffer-key'],
        timestamp: signed['x-coffer-timestamp'],
        signature: signed['x-coffer-signature'],
        method: 'GET',
        url: '/v1/merchant',
        body: Buffer.alloc(0),
      };
      assert.deepEqual(await merchants.verifySignedRequest(request), { merchantId: merchant.id, keyId: key.id, role: 'maker' });
      await assert.rejects(merchants.verifySignedRequest(request), { code: 'REPLAYED_REQUEST' });
      assert.equal(await merchants.purgeSeenRequests(), 0, 'still inside the window: kept');
      clock.offsetMs = 7 * 60 * 1000;
      try {
        assert.ok((await merchants.purgeSeenRequests()) >= 1);
        // Forgotten, but no longer replayable: the timestamp check refuses it first.
        await assert.rejects(merchants.verifySignedRequest(request), { code: 'TIMESTAMP_OUT_OF_WINDOW' });
      } finally {
        clock.offsetMs = 0;
      }
    });

    test('an adjustment whose process died before the transfer is posted by the recovery job, once', async () => {
      const merchant = await merchants.createMerchant({ name: 'Crash', products: [] }, ACTOR);
      ledger.crashes = 1;
      await assert.rejects(merchants.adjust(merchant.id, { amount: '70.00', currency: 'CNY', reason: 'float' }, ACTOR, 'req-1'), /process killed/);
      const [stuck] = (await merchants.listAdjustments(merchant.id)).data;
      assert.equal(stuck!.status, 'PENDING');
      const account = await merchants.settlementAccount(merchant.id, 'CNY');
      assert.equal((await ledger.getAccount(account.id)).postedCredits, 0n);

      assert.equal(await merchants.completePendingAdjustments(), 0, 'too young: its request may still be running');
      clock.offsetMs = 60_000;
      try {
        assert.equal(await merchants.completePendingAdjustments(), 1);
        assert.equal(await merchants.completePendingAdjustments(), 0);
      } finally {
        clock.offsetMs = 0;
      }
      const [posted] = (await merchants.listAdjustments(merchant.id)).data;
      assert.equal(posted!.status, 'POSTED');
      assert.equal((await ledger.getAccount(account.id)).postedCredits, 7000n);

      // The client's retry with the same key finds the same adjustment; nothing more moves.
      const retried = await merchants.adjust(merchant.id, { amount: '70.00', currency: 'CNY', reason: 'float' }, ACTOR, 'req-1');
      assert.equal(retried.id, stuck!.id);
      assert.equal(retried.status, 'POSTED');
      await assert.rejects(merchants.adjust(merchant.id, { amount: '71.00', currency: 'CNY', reason: 'float' }, ACTOR, 'req-1'), { code: 'IDEMPOTENCY_KEY_REUSED' });
      assert.equal((await ledger.getAccount(account.id)).postedCredits, 7000n);
      const report = await ledger.checkInvariants();
      assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
    });
  });
}

/**
 * Clock skew between processes: a process whose clock runs ahead must not see
 * another's lease as run out. Leases are set and read on the database's clock
 * (webhook deliveries, batch rows, the outbox) or, where the next send time is
 * the lease (payout dispatch), start at the later clock and come due only when
 * both agree. Each test plays two processes on one database, one of them 30 s
 * ahead. Both stores (the SQL is the same).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SecretBox } from '../../src/modules/merchants/index.ts';
import { WebhooksService } from '../../src/modules/webhooks/index.ts';
import { claimDue } from '../../src/modules/webhooks/webhooks.repository.ts';
import { claimDispatch, insertPayouts, type NewPayout } from '../../src/modules/payouts/payouts.repository.ts';
import { SystemClock } from '../../src/platform/clock.ts';
import { newId } from '../../src/platform/ids.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const SKEW_MS = 30_000;
const LEASE_MS = 5_000;

const inSync = () => new Date();
const ahead = () => new Date(Date.now() + SKEW_MS);
const behind = () => new Date(Date.now() - SKEW_MS);

for (const { kind, skip } of await testStoreKinds()) {
  describe(`leases under clock skew between processes (${kind} store)`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;

    before(async () => {
      store = await openTestStore(kind);
    });

    after(async () => {
      await store?.dispose();
    });

    test('a webhook delivery leased by one process is not taken by a process whose clock runs 30 s ahead', async () => {
      const webhooks = new WebhooksService({ db: store.db, clock: new SystemClock(), secrets: new SecretBox(randomBytes(32)), options: { allowInternalAddresses: true } });
      await webhooks.createEndpoint('mch_skew', 'http://127.0.0.1:9/hook');
      await store.db.transaction().execute((trx) =>
        webhooks.record(trx, { merchantId: 'mch_skew', type: 'payout.succeeded', data: { id: 'skew-1' }, resourceUpdatedAt: new Date(), sourceKey: 'skew-1' }),
      );
      const [held] = await claimDue(store.db, { now: inSync(), leaseMs: LEASE_MS, limit: 10 });
      assert.equal(held!.attempt, 1);
      assert.deepEqual(await claimDue(store.db, { now: ahead(), leaseMs: LEASE_MS, limit: 10 }), [], 'the lease still runs on the database clock');
    });

    test('a payout claimed for dispatch is not claimed again by a process whose clock runs 30 s ahead or behind', async () => {
      const payout = newPayout();
      await insertPayouts(store.db, [payout]);
      const backoff = { limit: 10, baseDelayMs: LEASE_MS, maxDelayMs: 60 * 60_000 };
      assert.deepEqual((await claimDispatch(store.db, { ...backoff, now: inSync() })).map((p) => p.id), [payout.id]);
      assert.deepEqual(await claimDispatch(store.db, { ...backoff, now: ahead() }), [], 'its lease is not cut short by the one running ahead');
      assert.deepEqual(await claimDispatch(store.db, { ...backoff, now: behind() }), [], 'nor taken by the one running behind');
    });
  });
}

function newPayout(): NewPayout {
  const now = new Date();
  const id = newId('po');
  return {
    id,
    merchantId: 'mch_skew',
    merchantOrderNo: `skew-${id}`,
    amountMinor: 1000n,
    feeMinor: 150n,
    currency: 'CNY',
    beneficiaryName: 'Li Lei',
    beneficiaryAccountNo: '6222000011112222',
    beneficiaryBankCode: 'ICBC',
    remark: null,
    status: 'ACCEPTED',
    riskDecisionId: 'rsk_skew',
    riskLevel: 'LOW',
    reviewPending: false,
    settlementAccountId: 'acc_skew',
    nextDispatchAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

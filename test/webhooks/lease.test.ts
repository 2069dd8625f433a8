/**
 * A process that claimed a delivery and died: its lease runs out, another run
 * takes the delivery as the next attempt, and the dead holder's late result
 * is fenced off by the attempt number; a rotated-out secret stops signing
 * after its overlap. Both stores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SecretBox } from '../../src/modules/merchants/index.ts';
import { WebhooksService } from '../../src/modules/webhooks/index.ts';
import { claimDue, finishAttempt } from '../../src/modules/webhooks/webhooks.repository.ts';
import { SystemClock } from '../../src/platform/clock.ts';
import { isDomainError } from '../../src/platform/errors.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';
import { sleep } from '../merchants/support.ts';
import { Receiver } from './support.ts';

const storeKinds = await testStoreKinds();

for (const { kind, skip } of storeKinds) {
  describe(`webhook delivery leases (${kind} store)`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let webhooks: WebhooksService;
    const receiver = new Receiver();

    before(async () => {
      store = await openTestStore(kind);
      await receiver.start();
      webhooks = new WebhooksService({ db: store.db, clock: new SystemClock(), secrets: new SecretBox(randomBytes(32)), options: { timeoutMs: 500, allowInternalAddresses: true } });
    });

    after(async () => {
      await receiver.stop();
      await store?.dispose();
    });

    async function recordOne(merchantId: string, sourceKey: string) {
      await webhooks.createEndpoint(merchantId, receiver.url(`/${merchantId}`));
      await store.db.transaction().execute((trx) =>
        webhooks.record(trx, { merchantId, type: 'payout.succeeded', data: { id: sourceKey, updated: new Date().toISOString() }, resourceUpdatedAt: new Date(), sourceKey }),
      );
      const [delivery] = (await webhooks.listDeliveries({ merchantId, limit: 10 })).data;
      return delivery!;
    }

    test("a crashed holder's delivery is taken again after its lease, and its late result changes nothing", async () => {
      const delivery = await recordOne('mch_lease1', 'lease-1');
      // The "crashed process": claims attempt 1 with a short lease, then never sends nor records.
      const [claimed] = await claimDue(store.db, { now: new Date(), leaseMs: 300, limit: 10 });
      assert.equal(claimed!.id, delivery.id);
      assert.equal(claimed!.attempt, 1);

      assert.equal(await webhooks.deliverDue(), 0, 'leased: nobody else takes it');
      assertInFlight(await webhooks.resend('mch_lease1', delivery.id).catch((err: unknown) => err));
      assert.equal(receiver.at('/mch_lease1').length, 0);

      await sleep(350);
      assert.equal(await webhooks.deliverDue(), 1, 'the lease ran out: taken again');
      const after = (await webhooks.getDelivery('mch_lease1', delivery.id))!;
      assert.equal(after.status, 'DELIVERED');
      assert.equal(after.attemptCount, 2);
      assert.deepEqual(after.attempts.map((a) => [a.attempt, a.httpStatus]), [[2, 200]]);
      assert.equal(receiver.at('/mch_lease1').length, 1);

      // the crashed holder wakes up and tries to record its attempt 1 as a failure: fenced off
      assert.equal(await finishAttempt(store.db, { id: delivery.id, attempt: 1, outcome: { kind: 'dead' } }), false);
      assert.equal((await webhooks.getDelivery('mch_lease1', delivery.id))!.status, 'DELIVERED');
    });

    test('after the 24 h overlap only the new secret signs', async () => {
      const clock = new SystemClock();
      const box = new SecretBox(randomBytes(32));
      const service = new WebhooksService({ db: store.db, clock, secrets: box, options: { allowInternalAddresses: true } });
      const endpoint = await service.createEndpoint('mch_rot', receiver.url('/rot'));
      const rotated = await service.rotateSecret('mch_rot', endpoint.id);
      const send = async (sourceKey: string) => {
        await store.db.transaction().execute((trx) =>
          service.record(trx, { merchantId: 'mch_rot', type: 'payout.failed', data: { id: sourceKey, updated: clock.now().toISOString() }, resourceUpdatedAt: clock.now(), sourceKey }),
        );
        assert.equal(await service.deliverDue(), 1);
        const request = receiver.at('/rot').at(-1)!;
        return (request.headers['x-coffer-signature'] as string).split(',').filter((p) => p.startsWith('v1=')).length;
      };
      assert.equal(await send('rot-1'), 2);
      clock.advance(24 * 3600 * 1000 - 60_000);
      assert.equal(await send('rot-2'), 2, 'still both a minute before the end of the overlap');
      clock.advance(120_000);
      assert.equal(await send('rot-3'), 1, 'the old secret has expired');
      const last = receiver.at('/rot').at(-1)!;
      const { verifyWebhookSignature } = await import('../../src/modules/webhooks/index.ts');
      const nowS = Math.floor(clock.now().getTime() / 1000);
      assert.deepEqual(verifyWebhookSignature(last.raw, last.headers['x-coffer-signature'] as string, rotated.secret, { nowS }), { ok: true });
      assert.deepEqual(verifyWebhookSignature(last.raw, last.headers['x-coffer-signature'] as string, endpoint.secret, { nowS }), { ok: false, reason: 'NO_MATCHING_SIGNATURE' });
    });

    test('another merchant cannot see or resend the delivery', async () => {
      const delivery = await recordOne('mch_lease2', 'lease-2');
      assert.equal(await webhooks.getDelivery('mch_other', delivery.id), undefined);
      const err = await webhooks.resend('mch_other', delivery.id).catch((e: unknown) => e);
      assert.ok(isDomainError(err, 'WEBHOOK_DELIVERY_NOT_FOUND'), String(err));
    });
  });
}

function assertInFlight(err: unknown): void {
  assert.ok(isDomainError(err, 'WEBHOOK_DELIVERY_IN_FLIGHT'), String(err));
}

/**
 * Two Coffer processes on one PostgreSQL database deliver webhooks together
 * and never send one attempt twice (claims take rows with FOR UPDATE SKIP
 * LOCKED and lease them). PostgreSQL server only: the embedded store is one
 * process by construction.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { verifyWebhookSignature } from '../../src/modules/webhooks/index.ts';
import { postgresUnavailable } from '../support/stores.ts';
import { Admin, createBooks, sleep, startServer, type TestBooks } from '../merchants/support.ts';
import { createEndpoint, payoutFinal, publishPayoutFinal, Receiver, waitFor } from './support.ts';

const reason = await postgresUnavailable();
if (reason && process.env.CI) throw new Error(`${reason}; CI must run the PostgreSQL suites`);

const ENV = {
  WEBHOOK_POLL_INTERVAL_MS: '10',
  WEBHOOK_TIMEOUT_MS: '2000',
  OUTBOX_POLL_INTERVAL_MS: '20',
  // one key for both processes: each must open the secrets the other sealed
  MERCHANT_SECRETS_KEY: randomBytes(32).toString('base64'),
};

describe('webhooks: two Coffer processes on one PostgreSQL database', { skip: reason ? `SKIPPED: ${reason}` : false }, () => {
  let books: TestBooks;
  let first: RunningCoffer;
  let second: RunningCoffer;
  const receiver = new Receiver();

  before(async () => {
    books = await createBooks('postgres');
    first = await startServer(books, ENV);
    second = await startServer(books, ENV);
    await receiver.start();
  });

  after(async () => {
    await Promise.all([first?.close(), second?.close()]);
    await receiver.stop();
    await books?.dispose();
  });

  test('every delivery is sent once, though both processes claim deliveries at the same time', async () => {
    const admin = new Admin(first.url);
    const { merchant, client } = await admin.activeMerchant();
    const endpoints = [await createEndpoint(client, receiver.url('/one')), await createEndpoint(client, receiver.url('/two'))];
    // Slow answers keep attempts in flight while the other process polls.
    receiver.script('/one', [], { kind: 'slow', delayMs: 30, status: 200 });
    receiver.script('/two', [], { kind: 'slow', delayMs: 30, status: 200 });

    const events = 40;
    await Promise.all(
      Array.from({ length: events }, (_, i) =>
        publishPayoutFinal(i % 2 ? first : second, payoutFinal(merchant.merchantId, 'SUCCEEDED', `po_two${Date.now()}_${i}`)),
      ),
    );

    await waitFor(
      'every delivery DELIVERED',
      async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int4 as n from webhook_deliveries where merchant_id = ${merchant.merchantId} and status = 'DELIVERED'`.execute(first.store.db);
        return rows[0]!.n === events * endpoints.length;
      },
      30_000,
    );
    await sleep(500); // a duplicate send would arrive meanwhile

    const perDelivery = new Map<string, number>();
    for (const request of receiver.received) {
      const id = request.headers['x-coffer-delivery'] as string;
      perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1);
      const endpoint = request.path === '/one' ? endpoints[0]! : endpoints[1]!;
      assert.deepEqual(verifyWebhookSignature(request.raw, request.headers['x-coffer-signature'] as string, endpoint.secret), { ok: true });
    }
    assert.equal(perDelivery.size, events * endpoints.length);
    const twice = [...perDelivery].filter(([, n]) => n !== 1);
    assert.deepEqual(twice, [], 'no delivery was sent twice');

    const { rows } = await sql<{ attempts: number; n: number }>`
      select attempt_count as attempts, count(*)::int4 as n from webhook_deliveries
      where merchant_id = ${merchant.merchantId} group by attempt_count`.execute(first.store.db);
    assert.deepEqual(rows, [{ attempts: 1, n: events * endpoints.length }]);
    const { rows: attemptRows } = await sql<{ n: number }>`
      select count(*)::int4 as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id
      where d.merchant_id = ${merchant.merchantId}`.execute(first.store.db);
    assert.equal(attemptRows[0]!.n, events * endpoints.length);
  });
});

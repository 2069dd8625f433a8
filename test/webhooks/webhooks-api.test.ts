/**
 * Webhooks (SPEC 5) over real HTTP both ways, on both stores: a real Coffer
 * server, merchants signing their requests, and a receiving HTTP server in the
 * test that checks every delivery with verify.ts over the raw bytes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/modules/merchants/index.ts';
import { verifyWebhookSignature, WebhooksService } from '../../src/modules/webhooks/index.ts';
import { SystemClock } from '../../src/platform/clock.ts';
import { testStoreKinds } from '../support/stores.ts';
import { Admin, assertProblem, createBooks, sleep, startServer, type TestBooks } from '../merchants/support.ts';
import { createEndpoint, deliveries, payoutFinal, publishPayoutFinal, Receiver, waitFor, type DeliveryView } from './support.ts';

const storeKinds = await testStoreKinds();

/**
 * Compressed schedule: backoff from 10 ms (40 ms × 0.25) capped at 100 ms, so only the
 * receiver's Retry-After (2 s -> 500 ms) can make a gap of 500 ms; window 6 h (no DEAD here).
 */
const FAST = {
  WEBHOOK_POLL_INTERVAL_MS: '20',
  WEBHOOK_TIMEOUT_MS: '400',
  WEBHOOK_RETRY_BASE_MS: '40',
  WEBHOOK_RETRY_MAX_MS: '400',
  WEBHOOK_RETRY_SCALE: '0.25',
  OUTBOX_POLL_INTERVAL_MS: '20',
};
/** A day compressed to 2.6 s: retries every ≤ 108 ms, then DEAD. */
const DAY_IN_SECONDS = { ...FAST, WEBHOOK_RETRY_BASE_MS: '10000', WEBHOOK_RETRY_MAX_MS: '3600000', WEBHOOK_RETRY_SCALE: '0.00003' };

let payoutSeq = 0;
const payoutId = () => `po_test${Date.now()}${payoutSeq++}`;

for (const { kind, skip } of storeKinds) {
  describe(`webhooks (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: Admin;
    const receiver = new Receiver();

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, FAST);
      admin = new Admin(coffer.url);
      await receiver.start();
    });

    after(async () => {
      await coffer?.close();
      await receiver.stop();
      await books?.dispose();
    });

    test('endpoints: signed CRUD, the secret shown once and never listed, another merchant gets 404', async () => {
      const { client } = await admin.activeMerchant();
      const { client: other } = await admin.activeMerchant({ name: 'Other Ltd' });

      const unsigned = await fetch(`${coffer.url}/v1/webhook-endpoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url('/crud') }),
      });
      assert.equal(unsigned.status, 401);
      assert.equal((await fetch(`${coffer.url}/v1/webhook-endpoints`)).status, 401);

      for (const url of ['ftp://example.com/x', 'not a url', `https://example.com/${'a'.repeat(2100)}`, 'https://user:pw@example.com/']) {
        const bad = await client.request('POST', '/v1/webhook-endpoints', { body: JSON.stringify({ url }) });
        assert.equal(bad.status, 400, url);
      }
      assertProblem(await client.request('POST', '/v1/webhook-endpoints', { body: JSON.stringify({ url: 'ftp://example.com/x' }) }), 400, 'INVALID_WEBHOOK_URL');

      const created = await createEndpoint(client, receiver.url('/crud'));
      assert.match(created.id, /^whe_/);
      assert.match(created.secret, /^whsec_/);
      assert.equal(created.url, receiver.url('/crud'));

      const listed = await client.request<{ data: unknown[] }>('GET', '/v1/webhook-endpoints');
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.data, [{ id: created.id, url: created.url, createdAt: created.createdAt }]);
      assert.ok(!JSON.stringify(listed.body).includes(created.secret));

      // stored sealed, never in clear
      const { rows } = await sql<{ secret_sealed: string }>`select secret_sealed from webhook_endpoint_secrets where endpoint_id = ${created.id}`.execute(coffer.store.db);
      assert.equal(rows.length, 1);
      assert.ok(!rows[0]!.secret_sealed.includes(created.secret.slice(6)));

      const othersList = await other.request<{ data: unknown[] }>('GET', '/v1/webhook-endpoints');
      assert.deepEqual(othersList.body.data, []);
      assertProblem(await other.request('DELETE', `/v1/webhook-endpoints/${created.id}`), 404, 'WEBHOOK_ENDPOINT_NOT_FOUND');
      assertProblem(await other.request('POST', `/v1/webhook-endpoints/${created.id}/rotate-secret`), 404, 'WEBHOOK_ENDPOINT_NOT_FOUND');

      assert.equal((await client.request('DELETE', `/v1/webhook-endpoints/${created.id}`)).status, 204);
      assert.deepEqual((await client.request<{ data: unknown[] }>('GET', '/v1/webhook-endpoints')).body.data, []);
      assertProblem(await client.request('DELETE', `/v1/webhook-endpoints/${created.id}`), 404, 'WEBHOOK_ENDPOINT_NOT_FOUND');
    });

    test('the routes are in /openapi.json as signed merchant routes, and the codes in /errors', async () => {
      const spec = (await (await fetch(`${coffer.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { security?: unknown }>> };
      const signed = [{ merchantKey: [], merchantTimestamp: [], merchantSignature: [] }];
      assert.deepEqual(spec.paths['/v1/webhook-endpoints']!.post!.security, signed);
      assert.deepEqual(spec.paths['/v1/webhook-endpoints']!.get!.security, signed);
      assert.deepEqual(spec.paths['/v1/webhook-endpoints/{id}']!.delete!.security, signed);
      assert.deepEqual(spec.paths['/v1/webhook-endpoints/{id}/rotate-secret']!.post!.security, signed);
      assert.deepEqual(spec.paths['/v1/webhook-deliveries']!.get!.security, signed);
      assert.deepEqual(spec.paths['/v1/webhook-deliveries/{id}/resend']!.post!.security, signed);
      const catalogue = (await (await fetch(`${coffer.url}/errors`)).json()) as { code: string; status: number }[];
      const byCode = new Map(catalogue.map((entry) => [entry.code, entry.status]));
      assert.equal(byCode.get('INVALID_WEBHOOK_URL'), 400);
      assert.equal(byCode.get('WEBHOOK_ENDPOINT_NOT_FOUND'), 404);
      assert.equal(byCode.get('WEBHOOK_DELIVERY_NOT_FOUND'), 404);
    });

    test('a final status published twice is one event with one delivery per endpoint, signed over the raw bytes', async () => {
      const { merchant, client } = await admin.activeMerchant();
      const a = await createEndpoint(client, receiver.url('/twice-a'));
      const b = await createEndpoint(client, receiver.url('/twice-b'));
      const id = payoutId();
      const updated = '2026-11-22T07:59:58.123Z';
      const message = payoutFinal(merchant.merchantId, 'SUCCEEDED', id, updated);
      await publishPayoutFinal(coffer, message);
      await publishPayoutFinal(coffer, message); // the outbox redelivers: nothing new

      const delivered = await waitFor('both deliveries DELIVERED', async () => {
        const list = await deliveries(client);
        return list.length === 2 && list.every((d) => d.status === 'DELIVERED') && list;
      });
      await sleep(300); // time for a wrongly duplicated event to show up
      const list = await deliveries(client);
      assert.equal(list.length, 2);
      assert.equal(new Set(list.map((d) => d.eventId)).size, 1);
      assert.deepEqual(new Set(list.map((d) => d.endpointId)), new Set([a.id, b.id]));
      const { rows } = await sql<{ n: number }>`select count(*)::int4 as n from webhook_events where merchant_id = ${merchant.merchantId}`.execute(coffer.store.db);
      assert.equal(rows[0]!.n, 1);

      for (const [endpoint, path] of [[a, '/twice-a'], [b, '/twice-b']] as const) {
        const got = receiver.at(path);
        assert.equal(got.length, 1, `one POST to ${path}`);
        const request = got[0]!;
        assert.equal(request.headers['content-type'], 'application/json');
        assert.deepEqual(verifyWebhookSignature(request.raw, request.headers['x-coffer-signature'] as string, endpoint.secret), { ok: true });
        assert.deepEqual(verifyWebhookSignature(request.raw, request.headers['x-coffer-signature'] as string, b === endpoint ? a.secret : b.secret), {
          ok: false,
          reason: 'NO_MATCHING_SIGNATURE',
        });
        const body = JSON.parse(request.raw.toString('utf8'));
        assert.deepEqual(Object.keys(body), ['id', 'type', 'created', 'data']);
        assert.equal(body.id, delivered[0]!.eventId);
        assert.match(body.id, /^evt_/);
        assert.equal(body.type, 'payout.succeeded');
        assert.equal(body.data.id, id);
        assert.equal(body.data.updated, updated);
        assert.ok(!Number.isNaN(Date.parse(body.created)));
      }
      const d = list[0]!;
      assert.equal(d.attemptCount, 1);
      assert.equal(d.attempts.length, 1);
      assert.equal(d.attempts[0]!.httpStatus, 200);
      assert.equal(d.attempts[0]!.responseBody, 'ok');
      // cursor pagination, newest first
      const page1 = await client.request<{ data: DeliveryView[]; hasMore: boolean }>('GET', `/v1/webhook-deliveries?eventId=${d.eventId}&status=DELIVERED&limit=1`);
      assert.equal(page1.body.data.length, 1);
      assert.equal(page1.body.hasMore, true);
      const page2 = await client.request<{ data: DeliveryView[]; hasMore: boolean }>('GET', `/v1/webhook-deliveries?limit=1&startingAfter=${page1.body.data[0]!.id}`);
      assert.equal(page2.body.data.length, 1);
      assert.equal(page2.body.hasMore, false);
      assert.deepEqual(new Set([page1.body.data[0]!.id, page2.body.data[0]!.id]), new Set(list.map((x) => x.id)));
      assert.deepEqual(await deliveries(client, '?status=DEAD'), []);
      assert.equal((await client.request('GET', '/v1/webhook-deliveries?status=NOPE')).status, 400);
    });

    test('down, slow, 500, then 503 with Retry-After: 2 (waited, scaled), then back: DELIVERED with every attempt listed', async () => {
      const { merchant, client } = await admin.activeMerchant();
      // A receiver that is not running yet: its port is free.
      const flaky = new Receiver();
      await flaky.start();
      const port = flaky.port;
      await flaky.stop();
      const endpoint = await createEndpoint(client, `http://127.0.0.1:${port}/flaky`);
      await publishPayoutFinal(coffer, payoutFinal(merchant.merchantId, 'FAILED', payoutId()));

      await waitFor('a failed attempt while the receiver is down', async () => {
        const [d] = await deliveries(client);
        return d !== undefined && d.attempts.length >= 1 && d.attempts[0]!.error !== null;
      });
      flaky.script('/flaky', [
        { kind: 'slow', delayMs: 1500, status: 200 },
        { kind: 'status', status: 500, body: 'boom '.repeat(1000) },
        { kind: 'status', status: 503, headers: { 'retry-after': '2' } },
      ]);
      await flaky.start(port);
      try {
        const delivered = await waitFor('DELIVERED after recovering', async () => {
          const [d] = await deliveries(client);
          return d?.status === 'DELIVERED' && d;
        });
        const got = flaky.at('/flaky');
        assert.equal(got.length, 4, 'slow, 500, 503, 200');
        const gapMs = got[3]!.atMs - got[2]!.atMs;
        assert.ok(gapMs >= 2000 * 0.25, `Retry-After honoured: the next attempt came ${gapMs} ms after the 503`);
        for (const request of got) {
          assert.deepEqual(verifyWebhookSignature(request.raw, request.headers['x-coffer-signature'] as string, endpoint.secret), { ok: true });
        }

        const attempts = delivered.attempts;
        assert.equal(delivered.attemptCount, attempts.length);
        assert.deepEqual(attempts.map((a) => a.attempt), attempts.map((_, i) => i + 1));
        const network = attempts.filter((a) => a.httpStatus === null);
        assert.ok(network.length >= 2, 'down and timeout attempts recorded as errors');
        assert.ok(network.some((a) => /timeout/.test(a.error ?? '')), JSON.stringify(network));
        assert.ok(network.some((a) => a.error !== null && !/timeout/.test(a.error)), 'the refused connection');
        const statuses = attempts.filter((a) => a.httpStatus !== null).map((a) => a.httpStatus);
        assert.deepEqual(statuses, [500, 503, 200]);
        const fiveHundred = attempts.find((a) => a.httpStatus === 500)!;
        assert.ok(fiveHundred.responseBody!.length <= 1024 && fiveHundred.responseBody!.startsWith('boom'));
        const timedOut = attempts.find((a) => /timeout/.test(a.error ?? ''))!;
        assert.ok(timedOut.durationMs >= 350, `the timeout took ${timedOut.durationMs} ms`);
        assert.equal(delivered.nextAttemptAt, null);
        assert.ok(delivered.deliveredAt);

        // a second 2xx for the same delivery (resend) is harmless: still DELIVERED, one more attempt listed
        const again = await client.request<DeliveryView>('POST', `/v1/webhook-deliveries/${delivered.id}/resend`);
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.status, 'DELIVERED');
        assert.equal(again.body.attempts.length, attempts.length + 1);
        assert.equal(again.body.deliveredAt, delivered.deliveredAt);
      } finally {
        await flaky.stop();
      }
    });

    test('record() works in the caller\'s transaction: a rollback records nothing, a second call with the key records nothing new', async () => {
      const { merchant, client } = await admin.activeMerchant();
      const endpoint = await createEndpoint(client, receiver.url('/direct'));
      const webhooks = new WebhooksService({ db: coffer.store.db, clock: new SystemClock(), secrets: new SecretBox(randomBytes(32)), options: { allowInternalAddresses: true } });
      const input = {
        merchantId: merchant.merchantId,
        type: 'payout_batch.processed' as const,
        data: { id: 'pb_1', status: 'PROCESSED', updated: '2026-11-22T08:00:00.000Z' },
        resourceUpdatedAt: '2026-11-22T08:00:00.000Z',
        sourceKey: `batch:${payoutId()}`,
      };
      await assert.rejects(
        coffer.store.db.transaction().execute(async (trx) => {
          await webhooks.record(trx, input);
          throw new Error('the caller fails after recording');
        }),
        /the caller fails/,
      );
      const counts = async () => {
        const { rows } = await sql<{ events: number; deliveries: number }>`
          select (select count(*)::int4 from webhook_events where merchant_id = ${merchant.merchantId}) as events,
                 (select count(*)::int4 from webhook_deliveries where merchant_id = ${merchant.merchantId}) as deliveries`.execute(coffer.store.db);
        return rows[0]!;
      };
      assert.deepEqual(await counts(), { events: 0, deliveries: 0 });
      const [first, second] = await coffer.store.db.transaction().execute(async (trx) => [await webhooks.record(trx, input), await webhooks.record(trx, input)]);
      assert.equal(first!.created, true);
      assert.deepEqual(second, { eventId: first!.eventId, created: false });
      assert.deepEqual(await counts(), { events: 1, deliveries: 1 });
      await waitFor('delivered', async () => (await deliveries(client))[0]?.status === 'DELIVERED');
      const [request] = receiver.at('/direct');
      assert.deepEqual(verifyWebhookSignature(request!.raw, request!.headers['x-coffer-signature'] as string, endpoint.secret), { ok: true });
      assert.equal(JSON.parse(request!.raw.toString()).type, 'payout_batch.processed');
    });

    test('deleting an endpoint cancels what was still due to it; a cancelled delivery cannot be resent', async () => {
      const { merchant, client } = await admin.activeMerchant();
      const endpoint = await createEndpoint(client, receiver.url('/gone'));
      receiver.script('/gone', [], { kind: 'status', status: 500 });
      await publishPayoutFinal(coffer, payoutFinal(merchant.merchantId, 'FAILED', payoutId()));
      const pending = await waitFor('a failed attempt', async () => {
        const [d] = await deliveries(client);
        return d !== undefined && d.attempts.length >= 1 && d;
      });
      assert.equal((await client.request('DELETE', `/v1/webhook-endpoints/${endpoint.id}`)).status, 204);
      await sleep(200); // an attempt under way may finish
      const sent = receiver.at('/gone').length;
      const [cancelled] = await deliveries(client);
      assert.equal(cancelled!.status, 'CANCELLED');
      assert.equal(cancelled!.nextAttemptAt, null);
      assertProblem(await client.request('POST', `/v1/webhook-deliveries/${pending.id}/resend`), 409, 'WEBHOOK_DELIVERY_CANCELLED');
      await sleep(300);
      assert.equal(receiver.at('/gone').length, sent, 'nothing sent to a deleted endpoint');
    });

    test('rotation: two v1= values, either secret verifies; the old one alone after the rotation still works', async () => {
      const { merchant, client } = await admin.activeMerchant();
      const endpoint = await createEndpoint(client, receiver.url('/rotate'));
      const rotated = await client.request<{ secret: string; previousSecretExpiresAt: string }>('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.match(rotated.body.secret, /^whsec_/);
      assert.notEqual(rotated.body.secret, endpoint.secret);
      const overlapH = (Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()) / 3_600_000;
      assert.ok(overlapH > 23.9 && overlapH <= 24, `overlap ${overlapH} h`);

      await publishPayoutFinal(coffer, payoutFinal(merchant.merchantId, 'REVERSED', payoutId()));
      await waitFor('the rotated delivery', async () => (await deliveries(client))[0]?.status === 'DELIVERED');
      const [request] = receiver.at('/rotate');
      const header = request!.headers['x-coffer-signature'] as string;
      assert.equal(header.split(',').filter((p) => p.startsWith('v1=')).length, 2, header);
      assert.deepEqual(verifyWebhookSignature(request!.raw, header, rotated.body.secret), { ok: true });
      assert.deepEqual(verifyWebhookSignature(request!.raw, header, endpoint.secret), { ok: true });
      assert.deepEqual(verifyWebhookSignature(request!.raw, header, 'whsec_nope'), { ok: false, reason: 'NO_MATCHING_SIGNATURE' });
      assert.equal(JSON.parse(request!.raw.toString()).type, 'payout.reversed');
    });
  });

  describe(`webhooks: the give-up window, compressed (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: Admin;
    const receiver = new Receiver();

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, DAY_IN_SECONDS);
      admin = new Admin(coffer.url);
      await receiver.start();
    });

    after(async () => {
      await coffer?.close();
      await receiver.stop();
      await books?.dispose();
    });

    test('a receiver answering 500 for the whole window makes the delivery DEAD; a resend then delivers it', async () => {
      const { merchant, client } = await admin.activeMerchant();
      await createEndpoint(client, receiver.url('/dead'));
      receiver.script('/dead', [], { kind: 'status', status: 500 });
      const startedMs = Date.now();
      await publishPayoutFinal(coffer, payoutFinal(merchant.merchantId, 'FAILED', payoutId()));

      const dead = await waitFor('DEAD', async () => {
        const [d] = await deliveries(client, '?status=DEAD');
        return d;
      });
      const windowMs = 24 * 3600 * 1000 * 0.00003;
      const last = dead.attempts.at(-1)!;
      assert.ok(Date.parse(last.at) >= Date.parse(dead.createdAt) + windowMs - 5, 'tried until the end of the window');
      assert.ok(Date.now() - startedMs >= windowMs);
      assert.ok(dead.attempts.length >= 5, `${dead.attempts.length} attempts`);
      assert.ok(dead.attempts.every((a) => a.httpStatus === 500));
      assert.equal(dead.nextAttemptAt, null);
      const countAtDeath = receiver.at('/dead').length;
      await sleep(300);
      assert.equal(receiver.at('/dead').length, countAtDeath, 'nothing sent once DEAD');

      receiver.script('/dead', [], { kind: 'status', status: 204 });
      const resent = await client.request<DeliveryView>('POST', `/v1/webhook-deliveries/${dead.id}/resend`);
      assert.equal(resent.status, 200, JSON.stringify(resent.body));
      assert.equal(resent.body.status, 'DELIVERED');
      assert.equal(resent.body.attempts.length, dead.attempts.length + 1);
      assert.equal(resent.body.attempts.at(-1)!.httpStatus, 204);
      assert.equal(receiver.at('/dead').length, countAtDeath + 1);

      const { client: other } = await admin.activeMerchant({ name: 'Nosy Ltd' });
      assertProblem(await other.request('POST', `/v1/webhook-deliveries/${dead.id}/resend`), 404, 'WEBHOOK_DELIVERY_NOT_FOUND');
      assert.deepEqual(await deliveries(other), []);
    });
  });
}

/**
 * The pieces later /v1 routes are built from — `keepRawBody`,
 * `app.requireMerchant` and `app.idempotent(merchantScope)` — on test routes
 * served by the real HTTP server builder, on both stores: signatures are
 * checked over the raw bytes (JSON and text/csv), and Idempotency-Key keeps
 * its promises (scoped per merchant, 5xx not stored, in flight, lease).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { LedgerService } from '../../src/modules/ledger/index.ts';
import {
  currentMerchant,
  merchantAuthPlugin,
  MerchantsService,
  merchantScope,
  OperatorsService,
  SecretBox,
  signMerchantRequest,
} from '../../src/modules/merchants/index.ts';
import type { Clock } from '../../src/platform/clock.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { IdempotencyStore, idempotencyPlugin, requestFingerprint } from '../../src/platform/http/idempotency.ts';
import { keepRawBody } from '../../src/platform/http/raw-body.ts';
import { buildHttpServer, type CofferApp } from '../../src/platform/http/server.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';
import { assertProblem, type ApiResponse } from './support.ts';

const storeKinds = await testStoreKinds();

class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

const SYSTEM = { principal: { kind: 'system', id: 'test' } };

for (const { kind, skip } of storeKinds) {
  describe(`signed routes with raw bodies and Idempotency-Key (${kind} store)`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let app: CofferApp;
    let base: string;
    let merchants: MerchantsService;
    const clock = new TestClock();
    const calls = new Map<string, number>();
    let gate: { open(): void; opened: Promise<void> } | undefined;
    let flakyFailures = 0;

    before(async () => {
      store = await openTestStore(kind);
      const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', ADMIN_TOKEN: 'signed-routes-admin' });
      const ledger = new LedgerService({ db: store.db, clock, writer: { mode: 'single', maxBatchSize: 10, concurrency: 1 } });
      merchants = new MerchantsService({ db: store.db, clock, ledger, secrets: new SecretBox(randomBytes(32)) });
      const operators = new OperatorsService({ db: store.db, clock });
      const idempotency = new IdempotencyStore(store.db, clock, { leaseMs: 60_000 });
      const count = (name: string) => {
        const n = (calls.get(name) ?? 0) + 1;
        calls.set(name, n);
        return n;
      };
      app = await buildHttpServer({
        config,
        store,
        logger: createLogger(config),
        metrics: createMetrics(),
        plugins: [merchantAuthPlugin(merchants, operators), idempotencyPlugin(idempotency)],
        modules: [
          {
            name: 'test.signed',
            register(scope) {
              keepRawBody(scope);
              const idem = scope.idempotent(merchantScope);
              // The signature is checked before the body is validated: strangers learn nothing of the schema.
              const guarded = { preValidation: scope.requireMerchant, preHandler: idem.preHandler, onSend: idem.onSend };
              scope.post('/v1/echo', guarded, async (request, reply) => {
                const me = currentMerchant(request);
                return reply.code(201).send({ merchantId: me.merchantId, body: request.body, call: count(`echo:${me.merchantId}`) });
              });
              scope.post(
                '/v1/typed',
                {
                  ...guarded,
                  schema: { body: Type.Object({ amount: Type.String({ pattern: '^[0-9]+\\.[0-9]{2}$' }) }, { additionalProperties: false }) },
                },
                async (request, reply) => reply.code(201).send({ amount: request.body.amount }),
              );
              scope.post('/v1/nothing', guarded, async (_request, reply) => {
                count('nothing');
                return reply.code(204).send();
              });
              scope.post('/v1/csv', { preHandler: scope.requireMerchant }, async (request) => ({
                lines: String(request.body).split('\n').filter(Boolean).length,
                bytes: request.rawBody?.length ?? 0,
              }));
              scope.post('/v1/flaky', guarded, async (_request, reply) => {
                if (flakyFailures > 0) {
                  flakyFailures -= 1;
                  throw new Error('the database fell over');
                }
                return reply.code(201).send({ call: count('flaky') });
              });
              scope.post('/v1/slow', guarded, async (_request, reply) => {
                await gate?.opened;
                return reply.code(201).send({ call: count('slow') });
              });
            },
          },
          {
            name: 'test.unsigned-scope',
            register(scope) {
              // Forgot keepRawBody: the guard must fail loudly, not check a re-serialised body.
              scope.post('/v1/forgot-raw-body', { preHandler: scope.requireMerchant }, async () => ({ ok: true }));
            },
          },
        ],
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await app?.close();
      await store?.dispose();
    });

    async function newMerchantKey() {
      const merchant = await merchants.createMerchant({ name: 'Signer', products: ['PAYOUT_BATCH'] }, SYSTEM);
      await merchants.activate(merchant.id, SYSTEM);
      const { key, secret } = await merchants.createApiKey(merchant.id, 'maker', SYSTEM);
      return { merchantId: merchant.id, keyId: key.id, secret };
    }

    let sent = 0;
    const firstTimestamp = Math.floor(Date.now() / 1000) + 60;
    async function send<T = Record<string, unknown>>(
      who: { keyId: string; secret: string },
      path: string,
      body: string,
      options: { contentType?: string; signBody?: string; idempotencyKey?: string } = {},
    ): Promise<ApiResponse<T>> {
      // Each request gets its own second: the same bytes signed in the same second ARE a replay (SPEC 5's
      // (key, timestamp, signature) guard), so a client retrying at once must sign with another timestamp.
      // Counting down from a minute ahead keeps every timestamp distinct and inside the 5-minute window.
      const timestamp = firstTimestamp - sent++;
      const auth = signMerchantRequest({ keyId: who.keyId, secret: who.secret, method: 'POST', path, body: options.signBody ?? body, timestamp });
      const headers: Record<string, string> = { ...auth, 'content-type': options.contentType ?? 'application/json' };
      if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
      const response = await fetch(`${base}${path}`, { method: 'POST', headers, body });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: JSON.parse(text) as T };
    }

    test('a JSON body is verified over its raw bytes: odd spacing and key order pass, a re-serialised signature does not', async () => {
      const who = await newMerchantKey();
      const raw = '{ "b" : 2,\n  "a":"一百元" }';
      const ok = await send<{ body: unknown; merchantId: string }>(who, '/v1/echo', raw);
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.body, { b: 2, a: '一百元' });
      assert.equal(ok.body.merchantId, who.merchantId);
      const reserialised = await send(who, '/v1/echo', raw, { signBody: JSON.stringify(JSON.parse(raw)) });
      assertProblem(reserialised, 401, 'INVALID_SIGNATURE');
      const tampered = await send(who, '/v1/echo', '{"b":3,"a":"一百元"}', { signBody: '{"b":2,"a":"一百元"}' });
      assertProblem(tampered, 401, 'INVALID_SIGNATURE');
    });

    test('a text/csv body (a batch file) is signed and verified like any body', async () => {
      const who = await newMerchantKey();
      const csv = 'merchantOrderNo,amount,currency,name,accountNo,bankCode,remark\r\nA1,10.00,CNY,张三,6222000000000001,ICBC,\r\n';
      const ok = await send<{ lines: number; bytes: number }>(who, '/v1/csv', csv, { contentType: 'text/csv' });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.bytes, Buffer.byteLength(csv));
      assert.equal(ok.body.lines, 2);
      const altered = await send(who, '/v1/csv', csv.replace('10.00', '99.00'), { contentType: 'text/csv', signBody: csv });
      assertProblem(altered, 401, 'INVALID_SIGNATURE');
      const notUtf8 = await fetch(`${base}/v1/csv`, {
        method: 'POST',
        headers: { ...signMerchantRequest({ keyId: who.keyId, secret: who.secret, method: 'POST', path: '/v1/csv', body: Buffer.from([0xff, 0xfe]) }), 'content-type': 'text/csv' },
        body: Buffer.from([0xff, 0xfe]),
      });
      assert.equal(notUtf8.status, 400);
    });

    test('JSON with a charset parameter is JSON; a body of any other type is 415, never an unsigned parse', async () => {
      const who = await newMerchantKey();
      const ok = await send(who, '/v1/echo', '{"a":1}', { contentType: 'application/json; charset=utf-8' });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assertProblem(await send(who, '/v1/echo', 'a=1', { contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
      assertProblem(await send(who, '/v1/echo', 'a=1', { contentType: 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    test('authentication comes before validation: an unsigned or wrongly signed bad body is 401, a signed one 400', async () => {
      const who = await newMerchantKey();
      const unsigned = await fetch(`${base}/v1/typed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount":1}' });
      assert.equal(unsigned.status, 401);
      assert.equal(((await unsigned.json()) as { code: string }).code, 'MERCHANT_AUTH_REQUIRED');
      assertProblem(await send(who, '/v1/typed', '{"amount":1}', { signBody: '{}' }), 401, 'INVALID_SIGNATURE');
      assertProblem(await send(who, '/v1/typed', '{"amount":1}'), 400, 'VALIDATION_FAILED');
      const ok = await send<{ amount: string }>(who, '/v1/typed', '{"amount":"1.00"}');
      assert.equal(ok.status, 201);
      assert.equal(ok.body.amount, '1.00');
    });

    test('a guarded route in a scope without keepRawBody fails loudly instead of checking a re-serialised body', async () => {
      const who = await newMerchantKey();
      const answer = await send(who, '/v1/forgot-raw-body', '{"a":1}');
      assertProblem(answer, 500, 'INTERNAL_ERROR');
    });

    test('signed retries with one Idempotency-Key: each request signed afresh, the work done once', async () => {
      const who = await newMerchantKey();
      const key = `order-${randomBytes(4).toString('hex')}`;
      const first = await send<{ call: number }>(who, '/v1/echo', '{"amount":"1.00"}', { idempotencyKey: key });
      assert.equal(first.status, 201);
      const second = await send<{ call: number }>(who, '/v1/echo', '{"amount":"1.00"}', { idempotencyKey: key });
      assert.equal(second.status, 201);
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(second.body, first.body);
      assertProblem(await send(who, '/v1/echo', '{"amount":"2.00"}', { idempotencyKey: key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      // Whitespace is part of the body: the same JSON with other bytes is another body.
      assertProblem(await send(who, '/v1/echo', '{ "amount":"1.00"}', { idempotencyKey: key }), 422, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(calls.get(`echo:${who.merchantId}`), 1);
    });

    test('keys are scoped per merchant: two merchants using the same key do not see each other', async () => {
      const alice = await newMerchantKey();
      const bob = await newMerchantKey();
      const a = await send<{ merchantId: string }>(alice, '/v1/echo', '{"n":1}', { idempotencyKey: 'shared-key-1' });
      const b = await send<{ merchantId: string }>(bob, '/v1/echo', '{"n":1}', { idempotencyKey: 'shared-key-1' });
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      assert.equal(b.headers.get('idempotent-replayed'), null);
      assert.equal(a.body.merchantId, alice.merchantId);
      assert.equal(b.body.merchantId, bob.merchantId);
    });

    test('an empty answer (204) is stored and replayed too', async () => {
      const who = await newMerchantKey();
      const first = await fetch(`${base}/v1/nothing`, {
        method: 'POST',
        headers: { ...signMerchantRequest({ keyId: who.keyId, secret: who.secret, method: 'POST', path: '/v1/nothing', timestamp: firstTimestamp - sent++ }), 'idempotency-key': 'empty-1' },
      });
      assert.equal(first.status, 204);
      const again = await fetch(`${base}/v1/nothing`, {
        method: 'POST',
        headers: { ...signMerchantRequest({ keyId: who.keyId, secret: who.secret, method: 'POST', path: '/v1/nothing', timestamp: firstTimestamp - sent++ }), 'idempotency-key': 'empty-1' },
      });
      assert.equal(again.status, 204);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(await again.text(), '');
      assert.equal(calls.get('nothing'), 1);
    });

    test('a 5xx answer is not stored: the retry runs the route again', async () => {
      const who = await newMerchantKey();
      flakyFailures = 1;
      const failed = await send(who, '/v1/flaky', '{}', { idempotencyKey: 'flaky-1' });
      assertProblem(failed, 500, 'INTERNAL_ERROR');
      const retried = await send<{ call: number }>(who, '/v1/flaky', '{}', { idempotencyKey: 'flaky-1' });
      assert.equal(retried.status, 201);
      assert.equal(retried.headers.get('idempotent-replayed'), null);
      const replayed = await send<{ call: number }>(who, '/v1/flaky', '{}', { idempotencyKey: 'flaky-1' });
      assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replayed.body, retried.body);
    });

    test('while the first request runs, the same key is 409 IDEMPOTENCY_KEY_IN_USE; afterwards, the replay', async () => {
      const who = await newMerchantKey();
      let open!: () => void;
      gate = { open: () => open(), opened: new Promise<void>((resolve) => (open = resolve)) };
      const first = send<{ call: number }>(who, '/v1/slow', '{}', { idempotencyKey: 'slow-1' });
      // Wait until the first request holds the key.
      for (let i = 0; i < 100; i++) {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from idempotency_keys where key = 'slow-1'`.execute(store.db);
        if (rows[0]!.n === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const second = await send(who, '/v1/slow', '{}', { idempotencyKey: 'slow-1' });
      assertProblem(second, 409, 'IDEMPOTENCY_KEY_IN_USE');
      gate.open();
      const done = await first;
      assert.equal(done.status, 201, JSON.stringify(done.body));
      const third = await send(who, '/v1/slow', '{}', { idempotencyKey: 'slow-1' });
      assert.equal(third.status, 201);
      assert.deepEqual(third.body, done.body);
      gate = undefined;
    });

    test('the same bytes signed in the same second are a replay, even as a retry with an Idempotency-Key', async () => {
      const who = await newMerchantKey();
      const auth = signMerchantRequest({ keyId: who.keyId, secret: who.secret, method: 'POST', path: '/v1/echo', body: '{}' });
      const headers = { ...auth, 'content-type': 'application/json', 'idempotency-key': 'same-second' };
      const first = await fetch(`${base}/v1/echo`, { method: 'POST', headers, body: '{}' });
      assert.equal(first.status, 201);
      const again = await fetch(`${base}/v1/echo`, { method: 'POST', headers, body: '{}' });
      assert.equal(again.status, 401);
      assert.equal(((await again.json()) as { code: string }).code, 'REPLAYED_REQUEST');
    });

    test('a claim whose holder died expires after the lease: a retry takes it over, the dead holder cannot store', async () => {
      const idem = new IdempotencyStore(store.db, clock, { leaseMs: 1_000, retentionMs: 60_000 });
      const fingerprint = requestFingerprint('POST', '/v1/x', '{}');
      const first = await idem.claim('merchant:lease', 'k1', fingerprint);
      assert.equal(first.outcome, 'claimed');
      assert.equal((await idem.claim('merchant:lease', 'k1', fingerprint)).outcome, 'in-flight');
      assert.equal((await idem.claim('merchant:lease', 'k1', requestFingerprint('POST', '/v1/x', '{"a":1}'))).outcome, 'reused');
      clock.offsetMs = 1_500;
      try {
        const taken = await idem.claim('merchant:lease', 'k1', fingerprint);
        assert.equal(taken.outcome, 'claimed');
        assert.equal(await idem.complete((first as { claim: Parameters<typeof idem.complete>[0] }).claim, { statusCode: 201, contentType: 'application/json', body: '{"who":"dead"}' }), false);
        assert.equal(await idem.complete((taken as { claim: Parameters<typeof idem.complete>[0] }).claim, { statusCode: 201, contentType: 'application/json', body: '{"who":"retry"}' }), true);
        const replay = await idem.claim('merchant:lease', 'k1', fingerprint);
        assert.deepEqual(replay, { outcome: 'replay', response: { statusCode: 201, contentType: 'application/json', body: '{"who":"retry"}' } });
        // Past the retention the answer is purged and the key is free again.
        clock.offsetMs = 120_000;
        assert.ok((await idem.purge()) >= 1);
        assert.equal((await idem.claim('merchant:lease', 'k1', fingerprint)).outcome, 'claimed');
      } finally {
        clock.offsetMs = 0;
      }
    });
  });
}

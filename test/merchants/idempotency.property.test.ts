/**
 * The Idempotency-Key store against a model, on both stores: random
 * sequences of claims (with matching or other fingerprints), completions and
 * releases by current or stale holders, and time passing beyond the lease.
 * After every step the store must answer what the model says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Clock } from '../../src/platform/clock.ts';
import { type ClaimOutcome, type IdempotencyClaim, IdempotencyStore } from '../../src/platform/http/idempotency.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const storeKinds = await testStoreKinds();
const LEASE_MS = 1_000;

class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

type Op =
  | { op: 'claim'; key: number; fp: number }
  | { op: 'complete'; key: number; holder: number; status: number }
  | { op: 'release'; key: number; holder: number }
  | { op: 'advance'; ms: number };

type ModelEntry =
  | { state: 'in-flight'; fp: number; token: string; lockedUntil: number }
  | { state: 'done'; fp: number; statusCode: number; body: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), key: fc.integer({ min: 0, max: 2 }), fp: fc.integer({ min: 0, max: 1 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('complete' as const), key: fc.integer({ min: 0, max: 2 }), holder: fc.nat(), status: fc.constantFrom(201, 404, 422) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), key: fc.integer({ min: 0, max: 2 }), holder: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(100, 600, 1_200) }) },
);

for (const { kind, skip } of storeKinds) {
  describe(`Idempotency-Key store against its model (${kind} store)`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;

    before(async () => {
      store = await openTestStore(kind);
    });

    after(async () => {
      await store?.dispose();
    });

    test('every answer matches the model, whatever the order of claims, completions, releases and time', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
          run += 1;
          const clock = new TestClock();
          const idem = new IdempotencyStore(store.db, clock, { leaseMs: LEASE_MS });
          const scope = `model:${kind}:${run}:${Math.random()}`;
          const model = new Map<number, ModelEntry>();
          // Every claim ever handed out per key, current or stale.
          const holders = new Map<number, IdempotencyClaim[]>();

          for (const op of ops) {
            if (op.op === 'advance') {
              clock.offsetMs += op.ms;
              continue;
            }
            const key = `k${op.key}`;
            const entry = model.get(op.key);
            if (op.op === 'claim') {
              const outcome: ClaimOutcome = await idem.claim(scope, key, `fp${op.fp}`);
              const now = clock.now().getTime();
              if (!entry) {
                assert.equal(outcome.outcome, 'claimed');
              } else if (entry.fp !== op.fp) {
                assert.equal(outcome.outcome, 'reused');
              } else if (entry.state === 'done') {
                assert.deepEqual(outcome, { outcome: 'replay', response: { statusCode: entry.statusCode, contentType: 'application/json', body: entry.body } });
              } else if (entry.lockedUntil > now) {
                assert.equal(outcome.outcome, 'in-flight');
              } else {
                assert.equal(outcome.outcome, 'claimed', 'a lease that ran out is taken over');
              }
              if (outcome.outcome === 'claimed') {
                model.set(op.key, { state: 'in-flight', fp: op.fp, token: outcome.claim.token, lockedUntil: now + LEASE_MS });
                holders.set(op.key, [...(holders.get(op.key) ?? []), outcome.claim]);
              }
              continue;
            }
            const claims = holders.get(op.key) ?? [];
            if (claims.length === 0) continue;
            const claim = claims[op.holder % claims.length]!;
            const current = entry?.state === 'in-flight' && entry.token === claim.token;
            if (op.op === 'complete') {
              const body = JSON.stringify({ status: op.status, by: claim.token });
              const stored = await idem.complete(claim, { statusCode: op.status, contentType: 'application/json', body });
              assert.equal(stored, current, current ? 'the holder stores its answer' : 'a stale holder cannot store');
              if (current) model.set(op.key, { state: 'done', fp: entry.fp, statusCode: op.status, body });
            } else {
              await idem.release(claim);
              if (current) model.delete(op.key);
            }
          }
        }),
        { numRuns: 150 },
      );
    });
  });
}

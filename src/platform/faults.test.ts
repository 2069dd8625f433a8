import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePlan } from './faults.ts';
import { seededRandom } from './random.ts';

test('COFFER_CRASH_AT: unset is no plan; a point with its pass; a name that is no crash point is refused', () => {
  assert.deepEqual(parsePlan(undefined), { kind: 'none' });
  const plan = parsePlan('payouts.before-order:3,outbox.after-deliver-before-ack');
  assert.equal(plan.kind, 'at');
  assert.deepEqual(plan.kind === 'at' && [...plan.hits], [
    ['payouts.before-order', 3],
    ['outbox.after-deliver-before-ack', 1],
  ]);
  assert.throws(() => parsePlan('payouts.before-ordr:1'), /names no crash point: payouts\.before-ordr/);
});

test('COFFER_CRASH_AT=random:p:seed draws the same sequence for the same seed', () => {
  const draws = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
  assert.deepEqual(draws(42), draws(42));
  assert.notDeepEqual(draws(42), draws(43));
  const plan = parsePlan('random:0.25:42');
  assert.equal(plan.kind === 'random' && plan.probability, 0.25);
});

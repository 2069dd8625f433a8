import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClaimedMessage } from '../outbox/index.ts';
import { dedupIdOf, durableNameOf } from './nats-wire.ts';
import { KeyedQueue } from './keyed-queue.ts';

const claimed = (parks: number): ClaimedMessage => ({
  id: 42n,
  topic: 'payout.final',
  key: 'po_1',
  payload: {},
  createdAt: new Date(),
  attempt: 1,
  doneConsumers: [],
  parks,
});

test('a message is published under its row id, and under a new id each time it was parked and retried', () => {
  assert.equal(dedupIdOf(claimed(0)), '42');
  assert.equal(dedupIdOf(claimed(1)), '42.1');
  assert.equal(dedupIdOf(claimed(2)), '42.2');
});

test('durable names are valid JetStream names, stable, and differ per topic and per consumer', () => {
  const name = durableNameOf('payout.final', 'webhooks.payout-final');
  assert.match(name, /^[A-Za-z0-9_-]+$/);
  assert.equal(durableNameOf('payout.final', 'webhooks.payout-final'), name);
  assert.notEqual(durableNameOf('risk.reviewed', 'webhooks.payout-final'), name);
  assert.notEqual(durableNameOf('payout.final', 'webhooks_payout-final'), name, 'names that read alike do not collide');
});

test('work of one key runs in order, work of different keys at once', async () => {
  const queue = new KeyedQueue();
  const log: string[] = [];
  let releaseFirst!: () => void;
  const first = queue.run('a', () => new Promise<void>((resolve) => (releaseFirst = resolve)).then(() => void log.push('a1')));
  const second = queue.run('a', async () => void log.push('a2'));
  await queue.run('b', async () => void log.push('b1'));
  assert.deepEqual(log, ['b1'], 'b did not wait for a; a2 waits for a1');
  releaseFirst();
  await Promise.all([first, second]);
  assert.deepEqual(log, ['b1', 'a1', 'a2']);
});

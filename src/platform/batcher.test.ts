import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batcher, type ItemResult } from './batcher.ts';

/** A flush that doubles numbers, refuses negatives one by one, and records every batch it saw. */
function doubling(options = { maxBatch: 100, concurrency: 1 }, gate?: Promise<void>) {
  const batches: number[][] = [];
  let running = 0;
  let mostAtOnce = 0;
  const batcher = new Batcher<number, number>(async (items) => {
    batches.push(items);
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    await (gate ?? Promise.resolve());
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    return items.map((n): ItemResult<number> => (n < 0 ? { ok: false, error: new Error(`negative ${n}`) } : { ok: true, value: n * 2 }));
  }, options);
  return { batcher, batches, mostAtOnce: () => mostAtOnce };
}

test('callers of the same moment share one flush and each gets its own answer', async () => {
  const { batcher, batches } = doubling();
  const answers = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
  assert.deepEqual(answers, [2, 4, 6]);
  assert.deepEqual(batches, [[1, 2, 3]]);
});

test('one item failing fails only that caller', async () => {
  const { batcher } = doubling();
  const results = await Promise.allSettled([5, -1, 7].map((n) => batcher.submit(n)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /negative -1/);
});

test('items arriving while a flush runs go into the next flush, never more than maxBatch or concurrency allow', async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const { batcher, batches, mostAtOnce } = doubling({ maxBatch: 3, concurrency: 2 }, gate);
  const first = batcher.submit(1);
  await new Promise((resolve) => setImmediate(resolve)); // the first flush is now running alone
  const rest = Array.from({ length: 8 }, (_, i) => batcher.submit(i + 2));
  open();
  assert.deepEqual(await Promise.all([first, ...rest]), [2, 4, 6, 8, 10, 12, 14, 16, 18]);
  assert.deepEqual(batches[0], [1]);
  assert.ok(batches.every((batch) => batch.length <= 3), `batches ${JSON.stringify(batches)}`);
  assert.deepEqual(batches.flat().sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(mostAtOnce() <= 2, `at most two flushes at once, saw ${mostAtOnce()}`);
});

test('a group whose flush throws is flushed again item by item: only the item that fails alone is refused', async () => {
  const batches: number[][] = [];
  const batcher = new Batcher<number, number>(async (items) => {
    batches.push(items);
    if (items.includes(-1)) throw new Error('the database refused the statement');
    return items.map((n) => ({ ok: true, value: n }));
  }, { maxBatch: 10, concurrency: 1 });
  const results = await Promise.allSettled([1, -1, 2].map((n) => batcher.submit(n)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual((results[0] as PromiseFulfilledResult<number>).value, 1);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /refused the statement/);
  assert.deepEqual(batches, [[1, -1, 2], [1], [-1], [2]]);
  assert.equal(await batcher.submit(3), 3, 'the next flush still runs');
});

test('a lone item whose flush throws gets the error once', async () => {
  let calls = 0;
  const batcher = new Batcher<number, number>(async () => {
    calls += 1;
    throw new Error('database went away');
  }, { maxBatch: 10, concurrency: 1 });
  await assert.rejects(batcher.submit(1), /went away/);
  assert.equal(calls, 1);
});

test('a flush that answers the wrong number of items is a failure, not a silent mix-up', async () => {
  const batcher = new Batcher<number, number>(async () => [], { maxBatch: 10, concurrency: 1 });
  await assert.rejects(Promise.all([batcher.submit(1), batcher.submit(2)]), /answered 0 of 1/);
});

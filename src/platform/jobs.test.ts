import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { openTestStore, testStoreKinds } from '../../test/support/stores.ts';
import { openStore, type Store } from './db/store.ts';
import { holdJobLease, startSingletonJob } from './jobs.ts';
import { createLogger } from './log.ts';

const logger = createLogger({ logLevel: 'silent' });

async function until(done: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done(); await sleep(20)) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
  }
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`jobs one process at a time (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    /** Another process's connection to the same database (the embedded store has one process: the same store). */
    let other: Store;

    before(async () => {
      store = await openTestStore(kind);
      other = store.url ? await openStore({ databaseUrl: store.url }) : store;
    });
    after(async () => {
      if (other !== store) await other?.close();
      await store?.dispose();
    });

    test('a lease is held by one holder, renewed by it, and taken over once it ends', async () => {
      assert.equal(await holdJobLease(store.db, 'lease-test', 'a', 400), true);
      assert.equal(await holdJobLease(other.db, 'lease-test', 'b', 400), false, 'held by a');
      assert.equal(await holdJobLease(store.db, 'lease-test', 'a', 400), true, 'renewed by a');
      await sleep(500);
      assert.equal(await holdJobLease(other.db, 'lease-test', 'b', 400), true, "a's lease ended");
      assert.equal(await holdJobLease(store.db, 'lease-test', 'a', 400), false, 'now held by b');
    });

    test('two processes tick the same job: only one runs it, and the other takes it on when the first stops', async () => {
      const runs = { first: 0, second: 0 };
      const first = startSingletonJob(store.db, 'singleton-test', 30, async () => (runs.first += 1), logger);
      await sleep(100);
      const second = startSingletonJob(other.db, 'singleton-test', 30, async () => (runs.second += 1), logger);
      try {
        await until(() => runs.first >= 15, 'the first holder runs it');
        assert.equal(runs.second, 0, 'the second never does while the first holds it (it ticked all along)');
        await first.stop();
        const stoppedAt = runs.first;
        await until(() => runs.second >= 3, 'the second takes it on once the first stopped');
        assert.equal(runs.first, stoppedAt);
      } finally {
        await first.stop();
        await second.stop();
      }
      const { rows } = await sql<{ n: number }>`select count(*)::int4 as n from job_leases where job = 'singleton-test'`.execute(store.db);
      assert.equal(rows[0]!.n, 0, 'both stopped in order: no lease left');
    });
  });
}

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { openStore } from '../db/store.ts';
import type { Config } from '../config.ts';
import { openTestStore, testStoreKinds, type TestStore } from '../../../test/support/stores.ts';
import { claimBatch, markDelivered } from './outbox.repository.ts';
import {
  findOutboxMessage,
  listParked,
  type OutboxLogger,
  type OutboxMessage,
  OutboxPayloadError,
  OutboxRelay,
  type OutboxRelayOptions,
  outboxStats,
  publish,
  publishMany,
  retryParked,
} from './index.ts';

const quietLogger: OutboxLogger = { debug() {}, info() {}, warn() {}, error() {} };

function outboxConfig(overrides: Partial<Config['outbox']> = {}): Config['outbox'] {
  return { pollIntervalMs: 10, maxAttempts: 5, leaseMs: 30_000, ...overrides };
}

function newRelay(store: TestStore, options: Partial<Omit<OutboxRelayOptions, 'config'>> & { config?: Partial<Config['outbox']> } = {}) {
  return new OutboxRelay({ db: store.db, logger: quietLogger, ...options, config: outboxConfig(options.config) });
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** Runs relay cycles until one leases something; returns how many it leased. */
async function drainUntilSomething(relay: OutboxRelay): Promise<number> {
  let leased = 0;
  await eventually(async () => (leased = await relay.drainOnce()) > 0, 'the relay leases a message');
  return leased;
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`outbox on ${kind}`, { skip }, () => {
    // One store per suite (the embedded one takes seconds to open); each test starts from an empty outbox.
    let shared: Awaited<ReturnType<typeof openTestStore>> | undefined;
    after(() => shared?.dispose());
    async function freshStore(): Promise<TestStore> {
      shared ??= await openTestStore(kind);
      await sql`truncate outbox_messages restart identity`.execute(shared.db);
      return shared;
    }

    test("a batch consumer gets one message per key at a time; a key's next message waits until the earlier one is delivered; a failure holds back only its own key", async () => {
      const store = await freshStore();
      await publishMany(store.db, [
        { topic: 'settled', key: 'a', payload: 'a1' },
        { topic: 'settled', key: 'b', payload: 'b1' },
        { topic: 'settled', key: 'a', payload: 'a2' },
        { topic: 'settled', key: 'poison', payload: 'p1' },
        { topic: 'settled', key: 'b', payload: 'b2' },
        { topic: 'settled', key: 'poison', payload: 'p2' },
      ]);
      const relay = newRelay(store, { retryBaseMs: 400 });
      const waves: string[][] = [];
      relay.subscribeBatch<string>('settled', 'wallets', async (messages) => {
        waves.push(messages.map((m) => m.payload));
        return messages.map((m) => (m.payload === 'p1' && m.attempt === 1 ? { ok: false, error: new Error('not yet') } : { ok: true, value: undefined }));
      });
      const seenBySingle: string[] = [];
      relay.subscribe<string>('settled', 'audit', async (m) => void seenBySingle.push(m.payload));

      assert.equal(await relay.drainOnce(), 3);
      assert.deepEqual(waves, [['a1', 'b1', 'p1']]);
      assert.equal(await relay.drainOnce(), 2);
      assert.deepEqual(waves.at(-1), ['a2', 'b2'], 'the next message of each delivered key; p2 waits behind the failed p1');
      assert.equal((await outboxStats(store.db)).pending, 2);

      await eventually(async () => (await relay.drainOnce()) === 1, 'the failed message is delivered again');
      assert.deepEqual(waves.at(-1), ['p1']);
      assert.equal(await relay.drainOnce(), 1);
      assert.deepEqual(waves.at(-1), ['p2'], 'p2 follows once p1 is delivered');
      assert.deepEqual(seenBySingle, ['a1', 'b1', 'p1', 'a2', 'b2', 'p2'], 'a single consumer of the topic sees every message once, in key order');
      assert.equal((await outboxStats(store.db)).pending, 0);
    });

    test('a batch consumer that throws fails its whole wave, which is delivered again', async () => {
      const store = await freshStore();
      await publishMany(store.db, [
        { topic: 'settled', key: 'a', payload: 'a1' },
        { topic: 'settled', key: 'b', payload: 'b1' },
      ]);
      const relay = newRelay(store, { retryBaseMs: 1 });
      let calls = 0;
      relay.subscribeBatch<string>('settled', 'wallets', async (messages) => {
        calls += 1;
        if (calls === 1) throw new Error('database went away');
        return messages.map(() => ({ ok: true, value: undefined }));
      });
      await relay.drainOnce();
      assert.equal((await outboxStats(store.db)).pending, 2);
      await eventually(async () => {
        await relay.drainOnce();
        return (await outboxStats(store.db)).pending === 0;
      }, 'the wave is delivered again');
      assert.equal(calls, 2);
    });

    test('a message published in a transaction that rolls back is never delivered; a committed one reaches every subscriber', async () => {
      const store = await freshStore();
      const relay = newRelay(store);
      const seenByLedger: OutboxMessage[] = [];
      const seenByMailer: OutboxMessage[] = [];
      relay.subscribe('wallet.recharged', 'ledger', async (m) => void seenByLedger.push(m));
      relay.subscribe('wallet.recharged', 'mailer', async (m) => void seenByMailer.push(m));

      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await publish(trx, { topic: 'wallet.recharged', key: 'rolled-back', payload: { amountMinor: 1n } });
          throw new Error('the state change failed');
        }),
        /the state change failed/,
      );
      const committedId = await store.db.transaction().execute((trx) =>
        publish(trx, { topic: 'wallet.recharged', key: 'wal_1', payload: { amountMinor: 12345678901234567890n, at: new Date(0) } }),
      );

      assert.equal(await relay.drainOnce(), 1);
      assert.equal(await relay.drainOnce(), 0);
      for (const seen of [seenByLedger, seenByMailer]) {
        assert.equal(seen.length, 1);
        assert.equal(seen[0]!.id, committedId);
        assert.equal(seen[0]!.key, 'wal_1');
        assert.equal(seen[0]!.attempt, 1);
        assert.deepEqual(seen[0]!.payload, { amountMinor: '12345678901234567890', at: '1970-01-01T00:00:00.000Z' });
      }
      assert.equal((await findOutboxMessage(store.db, committedId))?.status, 'DELIVERED');
      assert.deepEqual(await outboxStats(store.db), {
        pending: 0, inFlight: 0, retrying: 0, delivered: 1, parked: 0, oldestPendingAgeMs: null,
      });
    });

    test('a payload JSON cannot carry faithfully is refused before anything is written', async () => {
      const store = await freshStore();
      await assert.rejects(publish(store.db, { topic: 't', payload: { amount: Number.NaN } }), OutboxPayloadError);
      await assert.rejects(publish(store.db, { topic: 't', payload: { tags: new Set(['a']) } }), OutboxPayloadError);
      await assert.rejects(publish(store.db, { topic: 't', payload: undefined }), OutboxPayloadError);
      await assert.rejects(publish(store.db, { topic: '', payload: {} }), OutboxPayloadError);
      assert.equal((await outboxStats(store.db)).pending, 0);
    });

    test('a failing handler is retried after a backoff, its error is visible, and consumers that succeeded are not called again', async () => {
      const store = await freshStore();
      const relay = newRelay(store, { retryBaseMs: 400 });
      let bankIsDown = true;
      const bankAttempts: number[] = [];
      let auditCalls = 0;
      relay.subscribe('withdraw.requested', 'audit', async () => void auditCalls++);
      relay.subscribe('withdraw.requested', 'bank', async (m) => {
        bankAttempts.push(m.attempt);
        if (bankIsDown) throw new Error('bank is down');
      });
      const id = await publish(store.db, { topic: 'withdraw.requested', payload: { requestNo: 'W1' } });

      assert.equal(await relay.drainOnce(), 1);
      const failed = await findOutboxMessage(store.db, id);
      assert.equal(failed?.status, 'PENDING');
      assert.equal(failed?.attempts, 1);
      assert.match(failed?.lastError ?? '', /bank: bank is down/);
      assert.deepEqual(failed?.doneConsumers, ['audit']);
      // Jitter keeps the delay in the upper half of 400 ms.
      assert.ok(failed!.availableAt.getTime() - failed!.createdAt.getTime() >= 200, 'the retry waits for its backoff');
      assert.equal(await relay.drainOnce(), 0, 'not retried before its backoff has passed');
      assert.equal((await outboxStats(store.db)).retrying, 1);

      bankIsDown = false;
      await drainUntilSomething(relay);
      assert.deepEqual(bankAttempts, [1, 2]);
      assert.equal(auditCalls, 1);
      assert.equal((await findOutboxMessage(store.db, id))?.status, 'DELIVERED');
    });

    test('after maxAttempts a message is parked, later messages still flow, and retryParked revives it', async () => {
      const store = await freshStore();
      const relay = newRelay(store, { config: { maxAttempts: 3 }, retryBaseMs: 1 });
      let poisonFixed = false;
      const delivered: string[] = [];
      relay.subscribe('notify', 'sms', async (m) => {
        const { text } = m.payload as { text: string };
        if (text === 'poison' && !poisonFixed) throw new Error('cannot render poison');
        delivered.push(text);
      });
      const [poisonId] = await publishMany(store.db, [
        { topic: 'notify', payload: { text: 'poison' } },
        { topic: 'notify', payload: { text: 'fine' } },
      ]);

      await eventually(async () => {
        await relay.drainOnce();
        return (await listParked(store.db, 10)).length === 1;
      }, 'the poison message is parked');
      assert.deepEqual(delivered, ['fine']);
      const [parked] = await listParked(store.db, 10);
      assert.equal(parked?.id, poisonId);
      assert.equal(parked?.status, 'PARKED');
      assert.equal(parked?.attempts, 3);
      assert.match(parked?.lastError ?? '', /cannot render poison/);
      await publish(store.db, { topic: 'notify', payload: { text: 'after' } });
      await drainUntilSomething(relay);
      assert.deepEqual(delivered, ['fine', 'after'], 'messages after a parked one still flow');
      assert.equal((await outboxStats(store.db)).parked, 1);

      poisonFixed = true;
      assert.equal(await retryParked(store.db, '999999'), false);
      assert.equal(await retryParked(store.db, 'not-an-id'), false);
      assert.equal(await retryParked(store.db, poisonId!), true);
      await drainUntilSomething(relay);
      assert.deepEqual(delivered, ['fine', 'after', 'poison']);
      const revived = await findOutboxMessage(store.db, poisonId!);
      assert.equal(revived?.status, 'DELIVERED');
      assert.equal(revived?.attempts, 1, 'a revived message gets a fresh attempt budget');
      assert.equal((await outboxStats(store.db)).parked, 0);
    });

    test("a parked message stops holding back its key: the key's later messages flow", async () => {
      const store = await freshStore();
      const relay = newRelay(store, { config: { maxAttempts: 2 }, retryBaseMs: 1 });
      const delivered: string[] = [];
      relay.subscribe<string>('notify', 'sms', async (m) => {
        if (m.payload === 'k1') throw new Error('cannot render k1');
        delivered.push(m.payload);
      });
      await publishMany(store.db, [
        { topic: 'notify', key: 'k', payload: 'k1' },
        { topic: 'notify', key: 'k', payload: 'k2' },
      ]);
      await eventually(async () => {
        await relay.drainOnce();
        return (await listParked(store.db, 10)).length === 1;
      }, 'k1 is parked');
      assert.deepEqual(delivered, [], 'k2 waited behind k1 while k1 was being retried');
      await drainUntilSomething(relay);
      assert.deepEqual(delivered, ['k2']);
    });

    test('a lease left by a crashed relay expires and another relay delivers the message', async () => {
      const store = await freshStore();
      const id = await publish(store.db, { topic: 'payout.created', payload: { payoutId: 'po_1' } });
      const [leased] = await claimBatch(store.db, { relayId: 'crashed-relay', leaseMs: 1500, limit: 10 });
      assert.equal(String(leased?.id), id);

      const survivor = newRelay(store, { relayId: 'survivor' });
      const attempts: number[] = [];
      survivor.subscribe('payout.created', 'payouts', async (m) => void attempts.push(m.attempt));
      assert.equal(await survivor.drainOnce(), 0, 'a live lease is respected');
      const held = await findOutboxMessage(store.db, id);
      assert.equal(held?.status, 'IN_FLIGHT');
      assert.equal(held?.lockedBy, 'crashed-relay');

      await drainUntilSomething(survivor);
      assert.deepEqual(attempts, [2]);
      assert.equal((await findOutboxMessage(store.db, id))?.status, 'DELIVERED');
      const lateSettle = await markDelivered(store.db, [{ id: leased!.id, relayId: 'crashed-relay', attempt: 1 }]);
      assert.equal(lateSettle.size, 0, 'a relay that lost its lease cannot settle the message');
    });

    test('a live relay keeps its lease while a handler outlasts it', async () => {
      const store = await freshStore();
      const slow = newRelay(store, { relayId: 'slow', config: { leaseMs: 150 } });
      const other = newRelay(store, { relayId: 'other', config: { leaseMs: 150 } });
      let calls = 0;
      for (const relay of [slow, other]) {
        relay.subscribe('report.requested', 'reports', async () => {
          calls++;
          await sleep(500);
        });
      }
      await publish(store.db, { topic: 'report.requested', payload: {} });
      const slowCycle = slow.drainOnce();
      await eventually(() => calls === 1, 'the slow handler starts');
      for (let i = 0; i < 8; i++) {
        await sleep(50);
        assert.equal(await other.drainOnce(), 0, 'the renewed lease keeps the other relay away');
      }
      assert.equal(await slowCycle, 1);
      assert.equal(calls, 1);
      assert.equal((await outboxStats(store.db)).delivered, 1);
    });

    test('a running relay delivers messages as they are published, in id order', async () => {
      const store = await freshStore();
      const relay = newRelay(store, { config: { pollIntervalMs: 60_000 } });
      const received: string[] = [];
      relay.subscribe('ledger.posted', 'statements', async (m) => void received.push(m.id));
      relay.start();
      try {
        await sleep(20); // the first poll found nothing; from now on only nudge() wakes it
        const ids = await store.db.transaction().execute((trx) =>
          publishMany(trx, Array.from({ length: 5 }, (_, i) => ({ topic: 'ledger.posted', payload: { i } }))),
        );
        relay.nudge();
        await eventually(() => received.length === 5, 'all five are delivered', 3000);
        assert.deepEqual(received, ids);
      } finally {
        await relay.stop();
      }
    });

    test('stop() waits for a handler that is running', async () => {
      const store = await freshStore();
      const relay = newRelay(store);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let handlerFinished = false;
      relay.subscribe('card.bound', 'bank', async () => {
        await released;
        handlerFinished = true;
      });
      const id = await publish(store.db, { topic: 'card.bound', payload: {} });
      relay.start();
      await eventually(async () => (await findOutboxMessage(store.db, id))?.status === 'IN_FLIGHT', 'the handler runs');

      let stopped = false;
      const stopping = relay.stop().then(() => (stopped = true));
      await sleep(100);
      assert.equal(stopped, false, 'stop() has not returned while the handler runs');
      release();
      await stopping;
      assert.equal(handlerFinished, true);
      assert.equal((await findOutboxMessage(store.db, id))?.status, 'DELIVERED');
    });

    test('a poll that fails is logged and retried, and the relay recovers', async () => {
      const store = await freshStore();
      const errors: string[] = [];
      const logger: OutboxLogger = { ...quietLogger, error: (_obj, msg) => void errors.push(msg ?? '') };
      const relay = newRelay(store, { logger });
      const received: string[] = [];
      relay.subscribe('kyc.passed', 'wallet', async (m) => void received.push(m.id));
      const id = await publish(store.db, { topic: 'kyc.passed', payload: {} });
      await sql`alter table outbox_messages rename to outbox_messages_away`.execute(store.db);
      relay.start();
      try {
        await eventually(() => errors.length >= 2, 'two failed polls are logged');
        assert.match(errors[0]!, /outbox relay cycle failed/);
        await sql`alter table outbox_messages_away rename to outbox_messages`.execute(store.db);
        await eventually(() => received.length === 1, 'the relay delivers once the database is back');
        assert.deepEqual(received, [id]);
      } finally {
        await relay.stop();
      }
    });

    if (kind === 'postgres') {
      test('two relays on one database deliver each of 500 messages exactly once, never at the same time', async () => {
        const store = await freshStore();
        const secondProcess = await openStore({ databaseUrl: store.url });
        try {
          const relays = [store.db, secondProcess.db].map(
            (db, n) => new OutboxRelay({ db, logger: quietLogger, relayId: `relay-${n}`, batchSize: 20, config: outboxConfig({ pollIntervalMs: 5 }) }),
          );
          const calls = new Map<string, number>();
          const running = new Set<string>();
          const deliveredBy = [0, 0];
          let overlaps = 0;
          relays.forEach((relay, n) =>
            relay.subscribe('transfer.posted', 'projector', async (m) => {
              if (running.has(m.id)) overlaps++;
              running.add(m.id);
              calls.set(m.id, (calls.get(m.id) ?? 0) + 1);
              deliveredBy[n]!++;
              await new Promise((resolve) => setImmediate(resolve));
              running.delete(m.id);
            }),
          );
          const publishChunk = (from: number) =>
            store.db.transaction().execute((trx) =>
              publishMany(trx, Array.from({ length: 50 }, (_, i) => ({ topic: 'transfer.posted', payload: { n: from + i } }))),
            );
          const ids: string[] = [];
          for (let chunk = 0; chunk < 5; chunk++) ids.push(...(await publishChunk(chunk * 50)));
          relays.forEach((relay) => relay.start());
          for (let chunk = 5; chunk < 10; chunk++) {
            ids.push(...(await publishChunk(chunk * 50)));
            relays.forEach((relay) => relay.nudge());
          }
          await eventually(() => calls.size === 500, 'all 500 are delivered', 30_000);
          await Promise.all(relays.map((relay) => relay.stop()));

          assert.equal(new Set(ids).size, 500);
          assert.deepEqual([...calls.keys()].sort(), [...ids].sort());
          assert.ok([...calls.values()].every((count) => count === 1), 'each message is handled exactly once');
          assert.equal(overlaps, 0);
          assert.ok(deliveredBy.every((count) => count > 0), `both relays did work: ${deliveredBy.join(', ')}`);
          assert.equal((await outboxStats(store.db)).delivered, 500);
        } finally {
          await secondProcess.close();
        }
      });

      test("two relays deliver each key's messages one at a time and in order", async () => {
        const store = await freshStore();
        const secondProcess = await openStore({ databaseUrl: store.url });
        try {
          const relays = [store.db, secondProcess.db].map(
            (db, n) => new OutboxRelay({ db, logger: quietLogger, relayId: `relay-${n}`, batchSize: 7, config: outboxConfig({ pollIntervalMs: 5 }) }),
          );
          const seen = new Map<string, number[]>();
          const busyKeys = new Set<string>();
          let overlaps = 0;
          relays.forEach((relay) =>
            relay.subscribe<{ key: string; n: number }>('payout.final', 'webhooks', async (m) => {
              if (busyKeys.has(m.payload.key)) overlaps++;
              busyKeys.add(m.payload.key);
              seen.set(m.payload.key, [...(seen.get(m.payload.key) ?? []), m.payload.n]);
              await new Promise((resolve) => setTimeout(resolve, m.payload.n % 3));
              busyKeys.delete(m.payload.key);
            }),
          );
          const keys = Array.from({ length: 8 }, (_, k) => `po_${k}`);
          relays.forEach((relay) => relay.start());
          for (let n = 0; n < 15; n++) {
            await publishMany(store.db, keys.map((key) => ({ topic: 'payout.final', key, payload: { key, n } })));
            relays.forEach((relay) => relay.nudge());
          }
          await eventually(() => [...seen.values()].every((ns) => ns.length === 15) && seen.size === keys.length, 'every message is delivered', 30_000);
          await Promise.all(relays.map((relay) => relay.stop()));

          for (const key of keys) assert.deepEqual(seen.get(key), Array.from({ length: 15 }, (_, n) => n), `${key} in order, once each`);
          assert.equal(overlaps, 0, 'never two messages of one key at the same time');
        } finally {
          await secondProcess.close();
        }
      });
    }
  });
}

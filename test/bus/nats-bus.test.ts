/**
 * The NATS JetStream event bus against the real broker, on both stores:
 * committed messages reach consumers and rolled-back ones never do, a re-publish
 * after a crash reaches a consumer once, several publishers never publish one
 * row twice, a poisoned message is parked while the rest flows, and messages
 * wait in the outbox while the broker is away.
 */
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { connect } from 'nats';
import { NatsEventBus, type NatsEventBusOptions } from '../../src/platform/bus/index.ts';
import { durableNameOf } from '../../src/platform/bus/nats-wire.ts';
import { openStore, type Store } from '../../src/platform/db/store.ts';
import { listParked, type OutboxLogger, type OutboxMessage, outboxStats, publish, publishMany, retryParked } from '../../src/platform/outbox/index.ts';
import { BrokerProxy, consumerSettled, deleteStream, natsSkip, storedMessageCount, TEST_NATS_URL, type TestStreamNames, uniqueStreamNames } from '../support/nats.ts';
import { openTestStore, testStoreKinds, type TestStore } from '../support/stores.ts';

const quietLogger: OutboxLogger = { debug() {}, info() {}, warn() {}, error() {} };
const MAX_ATTEMPTS = 3;

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** A bus on its own stream, stopped and its stream deleted when the test ends. */
function newBus(
  t: TestContext,
  store: Store,
  names: TestStreamNames,
  options: Partial<Omit<NatsEventBusOptions, 'nats'>> & { natsUrl?: string } = {},
): NatsEventBus {
  const bus = new NatsEventBus({
    db: store.db,
    logger: quietLogger,
    outbox: { pollIntervalMs: 10, maxAttempts: MAX_ATTEMPTS, leaseMs: 5_000 },
    retryBaseMs: 20,
    retryMaxMs: 50,
    ...options,
    nats: { natsUrl: options.natsUrl ?? TEST_NATS_URL, ...names },
  });
  t.after(() => bus.stop());
  return bus;
}

function streamFor(t: TestContext): TestStreamNames {
  const names = uniqueStreamNames();
  t.after(() => deleteStream(names.natsStream));
  return names;
}

async function delivered(store: Store): Promise<number> {
  return (await outboxStats(store.db)).delivered;
}

const natsSkipReason = await natsSkip();

for (const { kind, skip } of await testStoreKinds()) {
  describe(`NATS JetStream event bus on ${kind}`, { skip: natsSkipReason || skip }, () => {
    let shared: Awaited<ReturnType<typeof openTestStore>> | undefined;
    after(() => shared?.dispose());
    async function freshStore(): Promise<TestStore> {
      shared ??= await openTestStore(kind);
      await sql`truncate outbox_messages`.execute(shared.db);
      return shared;
    }

    test('a message committed with its transaction reaches the consumer as the relay would hand it; a rolled-back one never does', async (t) => {
      const store = await freshStore();
      const bus = newBus(t, store, streamFor(t));
      const seen: OutboxMessage<string>[] = [];
      bus.subscribe<string>('orders.placed', 'audit', async (message) => void seen.push(message));
      bus.start();
      await bus.ready();

      const id = await store.db.transaction().execute((tx) => publish(tx, { topic: 'orders.placed', key: 'order-1', payload: 'committed' }));
      await assert.rejects(
        store.db.transaction().execute(async (tx) => {
          await publish(tx, { topic: 'orders.placed', key: 'order-2', payload: 'rolled back' });
          throw new Error('the business change failed');
        }),
      );
      bus.nudge();
      await eventually(() => seen.length === 1, 'the committed message arrives');
      await sleep(300);
      assert.deepEqual(seen.map((m) => m.payload), ['committed'], 'the rolled-back message never arrives');
      const [message] = seen;
      assert.equal(message!.id, id, 'the consumer sees the outbox row id');
      assert.equal(message!.topic, 'orders.placed');
      assert.equal(message!.key, 'order-1');
      assert.equal(message!.attempt, 1);
      assert.ok(message!.createdAt instanceof Date, 'createdAt is a Date');
      await eventually(async () => (await delivered(store)) === 1, 'the row is marked delivered after the broker acked it');
    });

    test('a backlog written before the bus starts reaches the consumer whole: nothing is published before the consumers exist', async (t) => {
      const store = await freshStore();
      const names = streamFor(t);
      const ids = await publishMany(
        store.db,
        Array.from({ length: 1000 }, (_, i) => ({ topic: 'orders.placed', key: `order-${i % 50}`, payload: { i } })),
      );
      const bus = newBus(t, store, names);
      // Consumers are set up one after another: the one that matters comes last, as in a real process.
      for (let i = 0; i < 20; i++) bus.subscribe(`other.topic-${i}`, 'audit', async () => {});
      const handled = new Map<string, number>();
      bus.subscribe('orders.placed', 'audit', async (message) => void handled.set(message.id, (handled.get(message.id) ?? 0) + 1));
      bus.start();
      await eventually(async () => (await delivered(store)) === 1000, 'every row is published');
      await eventually(() => handled.size === 1000, 'every message is handled');
      assert.deepEqual([...handled.keys()].sort(), [...ids].sort());
      assert.deepEqual([...handled.values()].filter((n) => n !== 1), [], 'each once');
    });

    test('a row published again after a crash (before it was marked delivered) reaches the consumer once', async (t) => {
      const store = await freshStore();
      const names = streamFor(t);
      const bus = newBus(t, store, names);
      const handled: string[] = [];
      bus.subscribe('orders.placed', 'audit', async (message) => void handled.push(message.id));
      bus.start();
      await bus.ready();
      await publish(store.db, { topic: 'orders.placed', key: 'order-1', payload: { n: 1 } });
      await eventually(async () => (await delivered(store)) === 1, 'the row is published');

      await sql`update outbox_messages set delivered_at = null`.execute(store.db);
      bus.nudge();
      await eventually(async () => (await delivered(store)) === 1, 'the row is published again');
      await sleep(300);
      assert.equal(await storedMessageCount(names.natsStream), 1, 'JetStream dropped the second publish (same Nats-Msg-Id)');
      assert.equal(handled.length, 1, 'the consumer handled it once');
    });

    test('a re-publish after the duplicate window is seen again under the same id, and an idempotent consumer applies it once', async (t) => {
      const store = await freshStore();
      const names = streamFor(t);
      const bus = newBus(t, store, names, { duplicateWindowMs: 200 });
      const handled: string[] = [];
      const applied = new Set<string>();
      bus.subscribe('orders.placed', 'ledger', async (message) => {
        handled.push(message.id);
        applied.add(message.id);
      });
      bus.start();
      await bus.ready();
      await publish(store.db, { topic: 'orders.placed', key: 'order-1', payload: { n: 1 } });
      await eventually(() => handled.length === 1, 'the message arrives');
      await sleep(400);

      await sql`update outbox_messages set delivered_at = null`.execute(store.db);
      bus.nudge();
      await eventually(() => handled.length === 2, 'the re-published message arrives again');
      assert.equal(await storedMessageCount(names.natsStream), 2, 'the window had passed: JetStream stored it twice');
      assert.deepEqual(new Set(handled), applied, 'both deliveries carry the same id');
      assert.equal(applied.size, 1, 'applied once');
    });

    test('two publishers on one PostgreSQL database never publish the same row twice', { skip: kind !== 'postgres' && 'one process per embedded store' }, async (t) => {
      const store = await freshStore();
      const names = streamFor(t);
      const other = await openStore({ databaseUrl: store.url!, poolSize: 4 });
      t.after(() => other.close());
      const handled = new Map<string, number>();
      const count = async (message: OutboxMessage) => void handled.set(message.id, (handled.get(message.id) ?? 0) + 1);
      // Two processes: each publishes, and both share the one durable consumer.
      const buses = [newBus(t, store, names), newBus(t, other, names)];
      for (const bus of buses) bus.subscribe('orders.placed', 'ledger', count);

      const watcher = await connect({ servers: TEST_NATS_URL });
      t.after(() => watcher.close());
      const published = new Map<string, number>();
      const raw = watcher.subscribe(`${names.natsSubjectPrefix}.>`, {
        callback: (_err, msg) => {
          const id = msg.headers?.get('Coffer-Message-Id') ?? '?';
          published.set(id, (published.get(id) ?? 0) + 1);
        },
      });
      t.after(() => raw.unsubscribe());
      await watcher.flush();
      for (const bus of buses) bus.start();
      await Promise.all(buses.map((bus) => bus.ready()));

      const messages = Array.from({ length: 300 }, (_, i) => ({ topic: 'orders.placed', key: `order-${i % 40}`, payload: { i } }));
      const ids = await publishMany(store.db, messages);
      for (const bus of buses) bus.nudge();
      await eventually(async () => (await delivered(store)) === 300 && handled.size === 300, 'every message is published and handled');
      await sleep(300);
      assert.deepEqual([...published.values()].filter((n) => n !== 1), [], 'no row was published twice');
      assert.deepEqual([...published.keys()].sort(), [...ids].sort(), 'every row was published');
      assert.deepEqual([...handled.values()].filter((n) => n !== 1), [], 'each message was handled once');
    });

    test(`a handler that keeps failing is retried, parked after ${MAX_ATTEMPTS} attempts and listed; the rest flows; a retry delivers it again`, async (t) => {
      const store = await freshStore();
      const bus = newBus(t, store, streamFor(t));
      let poisoned = true;
      const applied: string[] = [];
      const poisonAttempts: number[] = [];
      const audited: string[] = [];
      bus.subscribe<string>('payments.settled', 'wallets', async (message) => {
        if (message.payload === 'poison' && poisoned) {
          poisonAttempts.push(message.attempt);
          throw new Error('cannot apply this payment');
        }
        applied.push(message.payload);
      });
      bus.subscribe<string>('payments.settled', 'audit', async (message) => void audited.push(message.payload));
      bus.start();
      await bus.ready();

      const payloads = ['p1', 'poison', 'p2', 'p3', 'p4'];
      const ids = await publishMany(store.db, payloads.map((payload) => ({ topic: 'payments.settled', key: payload, payload })));
      bus.nudge();
      await eventually(async () => (await listParked(store.db)).length === 1, 'the poisoned message is parked');
      await eventually(() => applied.length === 4, 'the other messages flow');
      const [parked] = await listParked(store.db);
      assert.equal(parked!.id, ids[1], 'the parked row is the poisoned message');
      assert.equal(parked!.status, 'PARKED');
      assert.equal(parked!.attempts, MAX_ATTEMPTS);
      assert.match(parked!.lastError ?? '', /^wallets: cannot apply this payment/);
      assert.deepEqual(parked!.doneConsumers, ['audit'], 'the consumer that succeeded is remembered');
      assert.deepEqual(poisonAttempts, [1, 2, 3], 'retried with backoff, then given up');
      assert.deepEqual(applied.sort(), ['p1', 'p2', 'p3', 'p4']);

      poisoned = false;
      assert.equal(await retryParked(store.db, parked!.id), true);
      bus.nudge();
      await eventually(() => applied.includes('poison'), 'the retried message is delivered again');
      await eventually(async () => (await outboxStats(store.db)).delivered === 5, 'every row is delivered');
      await sleep(300);
      assert.deepEqual(audited.sort(), [...payloads].sort(), 'the consumer that already had it is not called again');
      assert.deepEqual(await listParked(store.db), []);
    });

    test('while the broker is away events wait in the outbox, and they flow when it returns', async (t) => {
      const store = await freshStore();
      const proxy = new BrokerProxy();
      t.after(() => proxy.cut());
      const natsUrl = await proxy.reservePort();
      const names = streamFor(t);
      const bus = newBus(t, store, names, { natsUrl });
      const seen: string[] = [];
      bus.subscribe<string>('orders.placed', 'audit', async (message) => void seen.push(message.payload));
      bus.start();

      await publish(store.db, { topic: 'orders.placed', key: 'a', payload: 'before start' });
      await sleep(500);
      assert.deepEqual(seen, [], 'nothing is delivered while NATS is unreachable');
      assert.deepEqual([(await outboxStats(store.db)).delivered, (await outboxStats(store.db)).pending], [0, 1], 'the row waits in the outbox');

      await proxy.restore();
      await bus.ready();
      await eventually(() => seen.length === 1, 'the waiting event flows once NATS is reachable');
      // Cut only once the broker has the ack: an ack lost with the connection is redelivered (at least once).
      await eventually(() => consumerSettled(names.natsStream, durableNameOf('orders.placed', 'audit')), 'the broker has the ack');

      await proxy.cut();
      await publishMany(store.db, [
        { topic: 'orders.placed', key: 'b', payload: 'during outage 1' },
        { topic: 'orders.placed', key: 'c', payload: 'during outage 2' },
      ]);
      bus.nudge();
      await sleep(700);
      assert.deepEqual(seen, ['before start'], 'nothing is delivered while the broker is down');
      assert.equal((await outboxStats(store.db)).pending, 2, 'the new rows wait in the outbox');
      assert.equal((await outboxStats(store.db)).parked, 0, 'an outage parks nothing');

      await proxy.restore();
      await eventually(() => seen.length === 3, 'the events flow when the broker returns');
      await eventually(async () => (await delivered(store)) === 3, 'every row is marked delivered');
      await sleep(300);
      assert.deepEqual(seen.sort(), ['before start', 'during outage 1', 'during outage 2'], 'each arrives once');
    });
  });
}

/**
 * Event bus benchmark: `npm run bench:events [-- --events=N]`.
 * Writes N outbox messages (100 keys, committed in transactions of 50), then
 * starts one bus and times until one consumer has handled every message: the
 * in-database relay (`EVENT_BUS=outbox`) against NATS JetStream
 * (`EVENT_BUS=nats`: publisher + durable consumer). On a scratch database of
 * the PostgreSQL server (TEST_DATABASE_URL) and the NATS server at
 * TEST_NATS_URL. Prints one JSON line per bus: events/s.
 */
import { performance } from 'node:perf_hooks';
import { createEventBus, type EventBus } from '../src/platform/bus/index.ts';
import { loadConfig } from '../src/platform/config.ts';
import { migrateToLatest, openStore, type Store } from '../src/platform/db/store.ts';
import { publishMany } from '../src/platform/outbox/index.ts';
import { migrations } from '../src/migrations.ts';
import { deleteStream, TEST_NATS_URL, uniqueStreamNames } from '../test/support/nats.ts';
import { createServerDatabase } from '../test/support/stores.ts';

const events = Number(process.argv.find((arg) => arg.startsWith('--events='))?.slice('--events='.length) ?? 5000);
const TRANSACTION_SIZE = 50;
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

async function writeBacklog(store: Store): Promise<void> {
  for (let first = 0; first < events; first += TRANSACTION_SIZE) {
    const messages = Array.from({ length: Math.min(TRANSACTION_SIZE, events - first) }, (_, i) => ({
      topic: 'bench.settled',
      key: `account-${(first + i) % 100}`,
      payload: { n: first + i, amountMinor: 1000n },
    }));
    await store.db.transaction().execute((tx) => publishMany(tx, messages));
  }
}

async function drain(kind: 'outbox' | 'nats'): Promise<{ bus: string; events: number; eventsPerS: number; seconds: number }> {
  const database = await createServerDatabase();
  const store = await openStore({ databaseUrl: database.url, poolSize: 10 });
  const names = uniqueStreamNames();
  let bus: EventBus | undefined;
  try {
    await migrateToLatest(store, migrations);
    await writeBacklog(store);
    const config = loadConfig({ EVENT_BUS: kind, NATS_URL: TEST_NATS_URL, NATS_STREAM: names.natsStream, NATS_SUBJECT_PREFIX: names.natsSubjectPrefix });
    bus = createEventBus(config, store.db, quietLogger);
    let handled = 0;
    let allHandled!: () => void;
    const done = new Promise<void>((resolve) => (allHandled = resolve));
    bus.subscribe('bench.settled', 'bench.counter', async () => {
      if (++handled === events) allHandled();
    });
    const started = performance.now();
    bus.start();
    await done;
    const seconds = (performance.now() - started) / 1000;
    return { bus: kind, events, eventsPerS: Math.round(events / seconds), seconds: Number(seconds.toFixed(2)) };
  } finally {
    await bus?.stop();
    await store.close();
    await database.drop();
    if (kind === 'nats') await deleteStream(names.natsStream);
  }
}

for (const kind of ['outbox', 'nats'] as const) console.log(JSON.stringify(await drain(kind)));

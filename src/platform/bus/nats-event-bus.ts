import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  connect,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  Events,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
} from 'nats';
import { Batcher, type ItemResult, settleItem } from '../batcher.ts';
import type { Config } from '../config.ts';
import {
  backoffDelayMs,
  type ClaimedMessage,
  describeError,
  MAX_ERROR_LENGTH,
  type OutboxBatchHandler,
  type OutboxExecutor,
  type OutboxHandler,
  type OutboxLogger,
  type OutboxMessage,
  OutboxRelay,
  parkBrokerMessage,
} from '../outbox/index.ts';
import type { BusState, EventBus } from './event-bus.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { decodeMessage, dedupIdOf, durableNameOf, encodeMessage, keyOf, type ReceivedMessage, subjectOf } from './nats-wire.ts';

export interface NatsEventBusOptions {
  db: OutboxExecutor;
  /** Lease (also the consumers' ack wait), poll interval and park threshold, as for the relay. */
  outbox: Config['outbox'];
  nats: Pick<Config['eventBus'], 'natsUrl' | 'natsStream' | 'natsSubjectPrefix'>;
  logger: OutboxLogger;
  /** First retry delay of a failed handler; doubles per attempt up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Outbox rows published per claim. */
  publishBatchSize?: number;
  /** How long JetStream remembers a message id to drop a re-publish (when this bus creates the stream). */
  duplicateWindowMs?: number;
}

interface BusSubscription {
  topic: string;
  consumerName: string;
  deliver(message: OutboxMessage): Promise<void>;
}

/** Unacknowledged messages one durable consumer may hold: its handlers running at once. */
const MAX_IN_FLIGHT_PER_CONSUMER = 64;
const PUBLISH_TIMEOUT_MS = 5_000;
/** A broker outage must not park messages; the publisher retries this often at worst. */
const PUBLISH_RETRY_MAX_MS = 5_000;
const RECONNECT_WAIT_MS = 1_000;
const SETUP_RETRY_MS = 1_000;
const DRAIN_TIMEOUT_MS = 2_000;
const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;
/** JetStream's error code for "a consumer of this name exists with other settings". */
const CONSUMER_EXISTS = 10148;

/**
 * The outbox over NATS JetStream, for many Coffer processes.
 *
 * Publishing: messages are still written in the business transaction. An
 * `OutboxRelay` claims committed rows (leases, SKIP LOCKED: two processes never
 * hold one row) and forwards them to JetStream with the row id as `Nats-Msg-Id`,
 * marking a row delivered only after the broker's ack. While the broker is away
 * rows stay pending and are retried; they are never parked for it.
 *
 * Consuming: one durable pull consumer per (topic, consumer name) with explicit
 * acks. A handler's success acks; a failure naks with backoff; after
 * `outbox.maxAttempts` deliveries the message is parked in its outbox row
 * (listed and retried like any parked message) and terminated, so the rest flows.
 */
export class NatsEventBus implements EventBus {
  private readonly options: NatsEventBusOptions;
  private readonly logger: OutboxLogger;
  private readonly publisher: OutboxRelay;
  private readonly subscriptions: BusSubscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly consumerStreams: ConsumerMessages[] = [];
  private connection: NatsConnection | undefined;
  private connected = false;
  /**
   * The stream and every durable consumer exist. Nothing is published before:
   * the stream keeps a message only for consumers that exist when it arrives.
   */
  private consumersInPlace = false;
  private readonly consuming = new Set<BusSubscription>();
  private stopped = false;
  private setUp: Promise<void> | undefined;

  constructor(options: NatsEventBusOptions) {
    this.options = options;
    this.logger = options.logger;
    this.publisher = new OutboxRelay({
      db: options.db,
      config: options.outbox,
      logger: options.logger,
      batchSize: options.publishBatchSize,
      retryMaxMs: PUBLISH_RETRY_MAX_MS,
      parkAfterAttempts: Infinity,
      forwarder: { name: 'nats', forward: (messages) => this.publishAll(messages) },
    });
  }

  subscribe<Payload = unknown>(topic: string, consumerName: string, handler: OutboxHandler<Payload>): void {
    this.addSubscription({ topic, consumerName, deliver: handler as OutboxHandler });
  }

  /** Messages arriving while the consumer's previous batch runs are handed over together. */
  subscribeBatch<Payload = unknown>(topic: string, consumerName: string, handler: OutboxBatchHandler<Payload>): void {
    const batcher = new Batcher<OutboxMessage, void>(handler as OutboxBatchHandler, { maxBatch: MAX_IN_FLIGHT_PER_CONSUMER, concurrency: 1 });
    this.addSubscription({ topic, consumerName, deliver: (message) => batcher.submit(message) });
  }

  private addSubscription(subscription: BusSubscription): void {
    if (this.setUp) throw new Error('Subscribe to the NATS event bus before starting it');
    if (this.subscriptions.some((s) => s.topic === subscription.topic && s.consumerName === subscription.consumerName)) {
      throw new Error(`Consumer "${subscription.consumerName}" is already subscribed to "${subscription.topic}"`);
    }
    this.subscriptions.push(subscription);
  }

  nudge(): void {
    this.publisher.nudge();
  }

  /** Connects in the background (retrying while NATS is away) and starts publishing and consuming. */
  start(): void {
    this.setUp ??= this.connectAndConsume();
    this.publisher.start();
  }

  /** Resolves once connected with the stream and every consumer in place. */
  ready(): Promise<void> {
    if (!this.setUp) throw new Error('start the NATS event bus first');
    return this.setUp;
  }

  /** Whether the connection to NATS is up now. */
  isConnected(): boolean {
    return this.connected;
  }

  state(): BusState {
    return { kind: 'nats', connected: this.connected };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.publisher.stop();
    await this.setUp;
    for (const messages of this.consumerStreams) messages.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.closeConnection();
  }

  /** Drains (the last acks go out) unless the broker is away, then gives up after a while. */
  private async closeConnection(): Promise<void> {
    const connection = this.connection;
    if (!connection || connection.isClosed()) return;
    const drained = connection.drain().then(
      () => true,
      (err: unknown) => {
        this.logger.warn({ err }, 'NATS connection did not drain');
        return false;
      },
    );
    if (!(await Promise.race([drained, sleep(DRAIN_TIMEOUT_MS, false, { ref: false })]))) await connection.close();
  }

  // ---- connection and setup ----

  private async connectAndConsume(): Promise<void> {
    const connection = await this.connectUntilStopped();
    if (!connection) return;
    this.connection = connection;
    this.connected = true;
    void this.watchConnection(connection);
    while (!this.stopped) {
      try {
        await this.createStreamAndConsumers(connection);
        this.consumersInPlace = true;
        this.publisher.nudge();
        return;
      } catch (err) {
        this.logger.warn({ err }, 'NATS stream or consumers not set up yet; retrying');
        await sleep(SETUP_RETRY_MS);
      }
    }
  }

  /** The client reconnects forever once connected; only the first connection is retried here. */
  private async connectUntilStopped(): Promise<NatsConnection | undefined> {
    while (!this.stopped) {
      try {
        return await connect({
          servers: this.options.nats.natsUrl,
          name: 'coffer',
          maxReconnectAttempts: -1,
          reconnectTimeWait: RECONNECT_WAIT_MS,
        });
      } catch (err) {
        this.logger.warn({ err, url: this.options.nats.natsUrl }, 'NATS not reachable; outbox messages wait in the database');
        await sleep(RECONNECT_WAIT_MS);
      }
    }
    return undefined;
  }

  private async watchConnection(connection: NatsConnection): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === Events.Disconnect) {
        this.connected = false;
        this.logger.warn({ server: status.data }, 'NATS connection lost; outbox messages wait in the database');
      } else if (status.type === Events.Reconnect) {
        this.connected = true;
        this.logger.info({ server: status.data }, 'NATS connection back');
        this.publisher.nudge();
      }
    }
    this.connected = false;
  }

  private async createStreamAndConsumers(connection: NatsConnection): Promise<void> {
    const manager = await connection.jetstreamManager();
    await this.createStream(manager);
    const client = connection.jetstream();
    for (const subscription of this.subscriptions) {
      if (this.stopped) return;
      if (this.consuming.has(subscription)) continue;
      const durable = await this.createConsumer(manager, subscription);
      const messages = await (await client.consumers.get(this.options.nats.natsStream, durable)).consume({
        max_messages: MAX_IN_FLIGHT_PER_CONSUMER,
      });
      this.consumerStreams.push(messages);
      this.consuming.add(subscription);
      void this.receive(subscription, messages);
    }
  }

  /** An existing stream is used as it is (an operator may have tuned it). */
  private async createStream(manager: JetStreamManager): Promise<void> {
    const { natsStream, natsSubjectPrefix } = this.options.nats;
    const exists = await manager.streams.info(natsStream).then(() => true, () => false);
    if (exists) return;
    await manager.streams.add({
      name: natsStream,
      subjects: [`${natsSubjectPrefix}.>`],
      // A message is kept until every consumer of its subject has acked or terminated it.
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
      duplicate_window: nanos(this.options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
    });
  }

  private async createConsumer(manager: JetStreamManager, subscription: BusSubscription): Promise<string> {
    const durable = durableNameOf(subscription.topic, subscription.consumerName);
    const settings: Partial<ConsumerConfig> = {
      ack_wait: nanos(this.options.outbox.leaseMs),
      // Unlimited: the bus parks a message itself after maxAttempts, and a delivery
      // whose parking failed must come back to be parked again rather than be dropped.
      max_deliver: -1,
      max_ack_pending: MAX_IN_FLIGHT_PER_CONSUMER,
    };
    try {
      await manager.consumers.add(this.options.nats.natsStream, {
        ...settings,
        durable_name: durable,
        filter_subject: subjectOf(this.options.nats.natsSubjectPrefix, subscription.topic),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== CONSUMER_EXISTS) throw err;
      await manager.consumers.update(this.options.nats.natsStream, durable, settings);
    }
    return durable;
  }

  // ---- publishing ----

  private async publishAll(messages: ClaimedMessage[]): Promise<ItemResult<void>[]> {
    const connection = this.connection;
    if (!connection || !this.connected) throw new Error('not connected to NATS');
    if (!this.consumersInPlace) throw new Error('the NATS stream and consumers are not set up yet');
    const client = connection.jetstream();
    // Sent back to back on one connection, so they reach the stream in id order.
    return Promise.all(messages.map((message) => settleItem(() => this.publishOne(client, message))));
  }

  private async publishOne(client: JetStreamClient, message: ClaimedMessage): Promise<void> {
    const { body, headers } = encodeMessage(message);
    await client.publish(subjectOf(this.options.nats.natsSubjectPrefix, message.topic), body, {
      msgID: dedupIdOf(message),
      headers,
      timeout: PUBLISH_TIMEOUT_MS,
    });
  }

  // ---- consuming ----

  private async receive(subscription: BusSubscription, messages: ConsumerMessages): Promise<void> {
    const order = new KeyedQueue();
    for await (const received of messages) {
      const handling = order.run(keyOf(received), () => this.handle(subscription, received));
      this.inFlight.add(handling);
      void handling.finally(() => this.inFlight.delete(handling));
    }
  }

  private async handle(subscription: BusSubscription, received: JsMsg): Promise<void> {
    let decoded: ReceivedMessage;
    try {
      decoded = decodeMessage(received);
    } catch (err) {
      this.logger.error({ err, subject: received.subject, seq: received.seq }, 'NATS message is not an outbox message; terminated');
      received.term();
      return;
    }
    if (decoded.doneConsumers.includes(subscription.consumerName)) {
      received.ack();
      return;
    }
    const stopWorking = this.keepAckWaitAlive(received);
    try {
      await subscription.deliver(decoded.message);
      received.ack();
    } catch (err) {
      await this.settleFailure(subscription, received, decoded, err);
    } finally {
      stopWorking();
    }
  }

  /** A slow handler must not see its message redelivered to another process meanwhile. */
  private keepAckWaitAlive(received: JsMsg): () => void {
    const timer = setInterval(() => received.working(), Math.max(10, Math.floor(this.options.outbox.leaseMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }

  private async settleFailure(subscription: BusSubscription, received: JsMsg, decoded: ReceivedMessage, err: unknown): Promise<void> {
    const { message } = decoded;
    const context = { err, messageId: message.id, topic: message.topic, consumer: subscription.consumerName, attempt: message.attempt };
    if (message.attempt < this.options.outbox.maxAttempts) {
      this.logger.warn(context, 'event handler failed');
      received.nak(this.retryDelayMs(message.attempt));
      return;
    }
    try {
      await parkBrokerMessage(this.options.db, {
        id: BigInt(message.id),
        topic: message.topic,
        key: message.key,
        payloadJson: decoded.payloadJson,
        createdAt: message.createdAt,
        attempts: message.attempt,
        consumerName: subscription.consumerName,
        error: `${subscription.consumerName}: ${describeError(err)}`.slice(0, MAX_ERROR_LENGTH),
        otherConsumers: this.consumersOf(message.topic).filter((name) => name !== subscription.consumerName),
      });
      this.logger.error(context, 'event parked after its last attempt');
      received.term(`parked after ${message.attempt} attempts`);
    } catch (parkErr) {
      this.logger.error({ ...context, parkErr }, 'could not park the event; it will be delivered again');
      received.nak(this.retryDelayMs(message.attempt));
    }
  }

  private retryDelayMs(attempt: number): number {
    return backoffDelayMs(attempt, this.options.retryBaseMs ?? 1000, this.options.retryMaxMs ?? 10 * 60_000);
  }

  private consumersOf(topic: string): string[] {
    return this.subscriptions.filter((s) => s.topic === topic).map((s) => s.consumerName);
  }
}

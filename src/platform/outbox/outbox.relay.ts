import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Config } from '../config.ts';
import { type ItemResult, settleItem } from '../batcher.ts';
import {
  claimBatch,
  type ClaimedMessage,
  extendLeases,
  type Lease,
  markDelivered,
  MAX_ERROR_LENGTH,
  type OutboxExecutor,
  park,
  reschedule,
} from './outbox.repository.ts';
import { crashPoint } from '../faults.ts';

/** The part of a pino logger the relay uses. */
export interface OutboxLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * What a handler receives. Delivery is at least once: the same message can
 * arrive again (after a crash, a lost lease, or a retry when the handler
 * failed), so handlers must be idempotent, e.g. keyed on `id` or on a business
 * key in the payload.
 */
export interface OutboxMessage<Payload = unknown> {
  /** The outbox row id, a decimal string. */
  id: string;
  topic: string;
  key: string | null;
  payload: Payload;
  createdAt: Date;
  /** 1 on the first delivery attempt. */
  attempt: number;
}

export type OutboxHandler<Payload = unknown> = (message: OutboxMessage<Payload>) => Promise<void>;

export interface OutboxRelayOptions {
  db: OutboxExecutor;
  config: Config['outbox'];
  logger: OutboxLogger;
  /** Names this relay's leases; unique per process by default. */
  relayId?: string;
  /** Messages leased per claim. */
  batchSize?: number;
  /** First retry delay; doubles per attempt, with jitter, up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Hands every claimed message to this forwarder instead of to in-process subscribers. */
  forwarder?: OutboxForwarder;
  /** Attempts before a message is parked: `config.maxAttempts` unless given. */
  parkAfterAttempts?: number;
}

/**
 * Takes claimed messages elsewhere, e.g. publishes them to a broker, and
 * answers each in order. A message is marked delivered only when its answer is ok.
 */
export interface OutboxForwarder {
  /** Names the forwarder in a message's last error. */
  name: string;
  forward(messages: ClaimedMessage[]): Promise<ItemResult<void>[]>;
}

/**
 * Takes several messages of one topic at once (all of different keys) and
 * answers each, in order: a consumer that can apply them together (one query
 * for all, one group commit) does much less work per message. One message's
 * failure fails only that message.
 */
export type OutboxBatchHandler<Payload = unknown> = (messages: OutboxMessage<Payload>[]) => Promise<ItemResult<void>[]>;

type Subscription = { consumerName: string } & (
  | { kind: 'single'; handler: OutboxHandler }
  | { kind: 'batch'; handler: OutboxBatchHandler }
);

/** One claimed message on its way through its subscribers. */
interface Delivery {
  message: ClaimedMessage;
  done: Set<string>;
  failures: string[];
}

/**
 * Delivers committed outbox messages to in-process subscribers (or hands them
 * to one forwarder, e.g. a broker publisher), at least once.
 *
 * Each cycle leases a batch in one short statement, then runs the handlers
 * with no transaction open (the embedded store has a single connection, and
 * handlers open their own transactions), then settles each message under the
 * same lease. Several relays, in one process or many, can share a database:
 * leases keep them from running one message at the same time.
 */
export class OutboxRelay {
  readonly relayId: string;
  private readonly db: OutboxExecutor;
  private readonly config: Config['outbox'];
  private readonly logger: OutboxLogger;
  private readonly batchSize: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly forwarder: OutboxForwarder | undefined;
  private readonly parkAfterAttempts: number;
  private readonly subscriptions = new Map<string, Subscription[]>();
  private readonly inFlight = new Set<Promise<number>>();
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private nudgedWhileBusy = false;

  constructor(options: OutboxRelayOptions) {
    this.db = options.db;
    this.config = options.config;
    this.logger = options.logger;
    this.relayId = options.relayId ?? `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.batchSize = options.batchSize ?? 50;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 10 * 60_000;
    this.forwarder = options.forwarder;
    this.parkAfterAttempts = options.parkAfterAttempts ?? this.config.maxAttempts;
  }

  /** Every subscriber of a topic gets each message, one after another in subscription order. */
  subscribe<Payload = unknown>(topic: string, consumerName: string, handler: OutboxHandler<Payload>): void {
    this.addSubscription(topic, { kind: 'single', consumerName, handler: handler as OutboxHandler });
  }

  /** Like `subscribe`, for a consumer that handles the messages of one delivery wave together. */
  subscribeBatch<Payload = unknown>(topic: string, consumerName: string, handler: OutboxBatchHandler<Payload>): void {
    this.addSubscription(topic, { kind: 'batch', consumerName, handler: handler as OutboxBatchHandler });
  }

  private addSubscription(topic: string, subscription: Subscription): void {
    if (this.forwarder) throw new Error(`This relay forwards every message to ${this.forwarder.name}; subscribe there`);
    const subscribers = this.subscriptions.get(topic) ?? [];
    if (subscribers.some((s) => s.consumerName === subscription.consumerName)) {
      throw new Error(`Outbox consumer "${subscription.consumerName}" is already subscribed to "${topic}"`);
    }
    subscribers.push(subscription);
    this.subscriptions.set(topic, subscribers);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.pollLoop();
  }

  /** Stops polling and resolves once every handler already running has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeSleeper?.();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight]);
  }

  /** The in-database relay has no broker to lose: its messages wait in the table it polls. */
  state(): { kind: 'outbox'; connected: true } {
    return { kind: 'outbox', connected: true };
  }

  /** Polls now instead of at the next interval, e.g. right after a commit that published. */
  nudge(): void {
    if (this.wakeSleeper) this.wakeSleeper();
    else this.nudgedWhileBusy = true;
  }

  /** One claim-and-deliver cycle; returns how many messages it leased. */
  drainOnce(): Promise<number> {
    const cycle = this.claimAndDeliver();
    this.inFlight.add(cycle);
    cycle.finally(() => this.inFlight.delete(cycle)).catch(() => {});
    return cycle;
  }

  private async pollLoop(): Promise<void> {
    while (this.running) {
      let leased = 0;
      try {
        leased = await this.drainOnce();
      } catch (err) {
        this.logger.error({ err, relayId: this.relayId }, 'outbox relay cycle failed; will retry');
      }
      // Something was delivered: more may be waiting (a full batch, or a key's next message,
      // which is held back until the one before it is delivered). Go again without sleeping.
      if (this.running && leased === 0) await this.sleep(this.config.pollIntervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.nudgedWhileBusy) {
      this.nudgedWhileBusy = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeSleeper = wake;
    });
  }

  private async claimAndDeliver(): Promise<number> {
    const claimed = await claimBatch(this.db, {
      relayId: this.relayId,
      leaseMs: this.config.leaseMs,
      limit: this.batchSize,
    });
    if (claimed.length === 0) return 0;
    const stopRenewing = this.keepLeasesAlive(claimed.map((message) => this.leaseOf(message)));
    try {
      const deliveries = claimed.map((message) => ({ message, done: new Set(message.doneConsumers), failures: [] }));
      if (this.forwarder) await this.forwardAll(this.forwarder, deliveries);
      else await this.deliverToSubscribers(deliveries);
      crashPoint('outbox.after-deliver-before-ack');
      await this.settleAll(deliveries);
    } finally {
      stopRenewing();
    }
    return claimed.length;
  }

  private leaseOf(message: ClaimedMessage): Lease {
    return { id: message.id, relayId: this.relayId, attempt: message.attempt };
  }

  /** While this process lives its leases must not run out, however long the batch takes. */
  private keepLeasesAlive(leases: Lease[]): () => void {
    const timer = setInterval(() => {
      extendLeases(this.db, leases, this.config.leaseMs).catch((err: unknown) =>
        this.logger.warn({ err, relayId: this.relayId }, 'could not extend outbox leases'),
      );
    }, Math.max(10, Math.floor(this.config.leaseMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }

  private async deliverToSubscribers(deliveries: Delivery[]): Promise<void> {
    for (const wave of deliveryWaves(deliveries)) {
      await Promise.all([...byTopic(wave)].map(([topic, group]) => this.deliverGroup(topic, group)));
    }
  }

  private async forwardAll(forwarder: OutboxForwarder, deliveries: Delivery[]): Promise<void> {
    const results = await forwarder.forward(deliveries.map((delivery) => delivery.message)).catch((error: unknown) =>
      deliveries.map((): ItemResult<void> => ({ ok: false, error })),
    );
    const failed = deliveries.filter((delivery, i) => {
      const result = results[i];
      if (result?.ok) return false;
      delivery.failures.push(`${forwarder.name}: ${describeError(result ? result.error : 'no answer')}`);
      return true;
    });
    if (failed.length > 0) {
      this.logger.warn({ relayId: this.relayId, failed: failed.length, error: failed[0]!.failures[0] }, `outbox messages not taken by ${forwarder.name}; will retry`);
    }
  }

  /** Messages of one topic and different keys: each subscriber in turn, a batch subscriber once for all. */
  private async deliverGroup(topic: string, group: Delivery[]): Promise<void> {
    const subscribers = this.subscriptions.get(topic) ?? [];
    if (subscribers.length === 0) this.logger.debug({ topic, messages: group.length }, 'outbox messages have no subscriber');
    for (const subscriber of subscribers) {
      const todo = group.filter((delivery) => !delivery.done.has(subscriber.consumerName));
      if (todo.length === 0) continue;
      const results = await this.runSubscriber(subscriber, todo);
      todo.forEach((delivery, i) => {
        const result = results[i]!;
        if (result.ok) {
          delivery.done.add(subscriber.consumerName);
          return;
        }
        delivery.failures.push(`${subscriber.consumerName}: ${describeError(result.error)}`);
        this.logger.warn(
          { err: result.error, messageId: String(delivery.message.id), topic, consumer: subscriber.consumerName, attempt: delivery.message.attempt },
          'outbox handler failed',
        );
      });
    }
  }

  private async runSubscriber(subscriber: Subscription, todo: Delivery[]): Promise<ItemResult<void>[]> {
    if (subscriber.kind === 'single') {
      return Promise.all(todo.map((delivery) => settleItem(() => subscriber.handler(this.handlerView(delivery.message)))));
    }
    const failedWhole = (error: unknown) => todo.map((): ItemResult<void> => ({ ok: false, error }));
    try {
      const results = await subscriber.handler(todo.map((delivery) => this.handlerView(delivery.message)));
      return results.length === todo.length ? results : failedWhole(new Error(`batch handler answered ${results.length} of ${todo.length} messages`));
    } catch (err) {
      return failedWhole(err);
    }
  }

  /** Delivered messages are marked in one statement; each failed one is rescheduled or parked. */
  private async settleAll(deliveries: Delivery[]): Promise<void> {
    const delivered = deliveries.filter((delivery) => delivery.failures.length === 0);
    const confirmed = await markDelivered(this.db, delivered.map((delivery) => this.leaseOf(delivery.message)));
    const lost = delivered.filter((delivery) => !confirmed.has(delivery.message.id)).map((delivery) => delivery.message);
    for (const delivery of deliveries) {
      if (delivery.failures.length > 0 && !(await this.settleFailure(delivery))) lost.push(delivery.message);
    }
    for (const message of lost) {
      this.logger.warn(
        { messageId: String(message.id), topic: message.topic, relayId: this.relayId },
        'outbox lease was lost before settling; the message will be delivered again',
      );
    }
  }

  private settleFailure({ message, failures, done }: Delivery): Promise<boolean> {
    const lease = this.leaseOf(message);
    const doneConsumers = [...done];
    const error = failures.join('\n').slice(0, MAX_ERROR_LENGTH);
    if (message.attempt >= this.parkAfterAttempts) {
      this.logger.error(
        { messageId: String(message.id), topic: message.topic, attempts: message.attempt, error },
        'outbox message parked after its last attempt',
      );
      return park(this.db, lease, { error, doneConsumers });
    }
    const retryInMs = backoffDelayMs(message.attempt, this.retryBaseMs, this.retryMaxMs);
    return reschedule(this.db, lease, { retryInMs, error, doneConsumers });
  }

  /** Each handler gets its own copy, so one consumer cannot change what the next one sees. */
  private handlerView(message: ClaimedMessage): OutboxMessage {
    return {
      id: String(message.id),
      topic: message.topic,
      key: message.key,
      payload: structuredClone(message.payload),
      createdAt: message.createdAt,
      attempt: message.attempt,
    };
  }
}

/**
 * Exponential backoff with jitter: base * 2^(attempt-1), capped, then a random
 * point in its upper half so failing messages from many relays spread out.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Messages of one key (one aggregate) are delivered one after another in id
 * order; different keys go together. Wave n holds the n-th message of every
 * key, so a wave never holds two messages of one key and consumers can apply
 * a wave at once (sharing group commits). Messages without a key form one key.
 */
function deliveryWaves(deliveries: Delivery[]): Delivery[][] {
  const waves: Delivery[][] = [];
  const seen = new Map<string | null, number>();
  for (const delivery of deliveries) {
    const n = seen.get(delivery.message.key) ?? 0;
    seen.set(delivery.message.key, n + 1);
    (waves[n] ??= []).push(delivery);
  }
  return waves;
}

function byTopic(wave: Delivery[]): Map<string, Delivery[]> {
  const groups = new Map<string, Delivery[]>();
  for (const delivery of wave) {
    const group = groups.get(delivery.message.topic);
    if (group) group.push(delivery);
    else groups.set(delivery.message.topic, [delivery]);
  }
  return groups;
}

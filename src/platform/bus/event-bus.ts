import type { Config } from '../config.ts';
import { type OutboxBatchHandler, type OutboxExecutor, type OutboxHandler, type OutboxLogger, OutboxRelay } from '../outbox/index.ts';
import { NatsEventBus } from './nats-event-bus.ts';

/**
 * Where committed outbox messages go to be heard. Modules publish to the
 * outbox in their own transaction either way; the bus only changes how the
 * messages reach their consumers, so consumers subscribe the same way on both.
 */
export interface EventBus {
  /** Every subscriber of a topic gets each message at least once; handlers must be idempotent by message id. */
  subscribe<Payload = unknown>(topic: string, consumerName: string, handler: OutboxHandler<Payload>): void;
  /** Like `subscribe`, for a consumer that handles several messages (of different keys) together. */
  subscribeBatch<Payload = unknown>(topic: string, consumerName: string, handler: OutboxBatchHandler<Payload>): void;
  /** Something was just published: look now rather than at the next poll. */
  nudge(): void;
  start(): void;
  /** Resolves once every handler already running has finished. */
  stop(): Promise<void>;
  /** What /readyz reports: which bus, and whether it reaches its broker now. */
  state(): BusState;
}

/**
 * `connected: false` (the broker is away) leaves the process ready: modules
 * still commit their messages to the outbox, which holds them until the
 * broker is back.
 */
export interface BusState {
  kind: 'outbox' | 'nats';
  connected: boolean;
}

/** The in-process relay unless `EVENT_BUS=nats`. */
export function createEventBus(config: Config, db: OutboxExecutor, logger: OutboxLogger): EventBus {
  if (config.eventBus.kind === 'nats') return new NatsEventBus({ db, outbox: config.outbox, nats: config.eventBus, logger });
  return new OutboxRelay({ db, config: config.outbox, logger });
}

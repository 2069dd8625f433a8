/**
 * The event bus: how committed outbox messages reach their consumers. The
 * in-process `OutboxRelay` by default, `NatsEventBus` (JetStream) with
 * `EVENT_BUS=nats`; both take the same subscriptions.
 */
export { createEventBus, type BusState, type EventBus } from './event-bus.ts';
export { NatsEventBus, type NatsEventBusOptions } from './nats-event-bus.ts';

import { createHash } from 'node:crypto';
import { headers, type JsMsg, type MsgHdrs } from 'nats';
import type { ClaimedMessage, OutboxMessage } from '../outbox/index.ts';

/**
 * How an outbox message travels through NATS: the payload as JSON in the
 * body, the rest in headers, so a consumer gets the very `OutboxMessage` the
 * in-process relay would hand it (same id, so consumers stay idempotent).
 */
const ID = 'Coffer-Message-Id';
const TOPIC = 'Coffer-Topic';
const KEY = 'Coffer-Key';
const CREATED_AT = 'Coffer-Created-At';
/** Consumers that already handled the message before it was parked and retried. */
const DONE_CONSUMERS = 'Coffer-Done-Consumers';

const encoder = new TextEncoder();

export function subjectOf(prefix: string, topic: string): string {
  return `${prefix}.${topic}`;
}

/**
 * JetStream drops a publish whose id it saw within its duplicate window: a
 * relay that crashed after publishing and publishes the row again is a no-op.
 * A message an operator retried after parking must go out again, so its
 * parking count is part of the id.
 */
export function dedupIdOf(message: ClaimedMessage): string {
  return message.parks === 0 ? String(message.id) : `${message.id}.${message.parks}`;
}

export function encodeMessage(message: ClaimedMessage): { body: Uint8Array; headers: MsgHdrs } {
  const wireHeaders = headers();
  wireHeaders.set(ID, String(message.id));
  wireHeaders.set(TOPIC, message.topic);
  wireHeaders.set(CREATED_AT, message.createdAt.toISOString());
  if (message.key !== null) wireHeaders.set(KEY, message.key);
  if (message.doneConsumers.length > 0) wireHeaders.set(DONE_CONSUMERS, JSON.stringify(message.doneConsumers));
  return { body: encoder.encode(JSON.stringify(message.payload)), headers: wireHeaders };
}

/** The key the message is about, read before the whole message is decoded, to order its handling. */
export function keyOf(received: JsMsg): string | null {
  return received.headers?.get(KEY) || null;
}

export interface ReceivedMessage {
  message: OutboxMessage;
  /** The payload as published, for parking it unchanged. */
  payloadJson: string;
  doneConsumers: string[];
}

export function decodeMessage(received: JsMsg): ReceivedMessage {
  const header = (name: string) => received.headers?.get(name) || undefined;
  const id = header(ID);
  const topic = header(TOPIC);
  const createdAt = header(CREATED_AT);
  if (!id || !topic || !createdAt) throw new Error(`NATS message ${received.seq} on ${received.subject} lacks Coffer headers`);
  const payloadJson = received.string();
  const done = header(DONE_CONSUMERS);
  return {
    message: {
      id,
      topic,
      key: keyOf(received),
      payload: JSON.parse(payloadJson) as unknown,
      createdAt: new Date(createdAt),
      attempt: received.info.redeliveryCount,
    },
    payloadJson,
    doneConsumers: done ? (JSON.parse(done) as string[]) : [],
  };
}

/**
 * A durable consumer's name: readable (JetStream allows letters, digits, `-`
 * and `_`) and unique per (topic, consumer) thanks to a hash of both.
 */
export function durableNameOf(topic: string, consumerName: string): string {
  const readable = consumerName.replace(/[^A-Za-z0-9_-]/g, '_');
  const hash = createHash('sha256').update(`${topic}\0${consumerName}`).digest('hex').slice(0, 10);
  return `${readable}_${hash}`;
}

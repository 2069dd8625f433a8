import { insertMessages, type OutboxExecutor } from './outbox.repository.ts';

export interface OutboxMessageInput {
  topic: string;
  /** What the message is about, e.g. an aggregate id; for consumers and inspection. */
  key?: string | null;
  /**
   * Any JSON value. A bigint becomes its decimal string (amounts in minor units
   * must not lose precision) and a Date its ISO string, so consumers receive
   * strings for both. Values JSON cannot carry faithfully are rejected.
   */
  payload: unknown;
}

/** A programming error: the payload cannot be stored as JSON without changing its meaning. */
export class OutboxPayloadError extends Error {
  override name = 'OutboxPayloadError';
}

/**
 * Writes one message with the executor the caller passes. Pass the transaction
 * that makes the state change, so the message exists if and only if the change
 * commits. Returns the message id.
 */
export async function publish(executor: OutboxExecutor, message: OutboxMessageInput): Promise<string> {
  const [id] = await publishMany(executor, [message]);
  return id!;
}

/**
 * The messages as rows to insert (topic checked, payload as its JSON text), for a
 * caller that writes its own rows and their messages in one statement (a
 * data-modifying CTE: atomic without a transaction, one round trip).
 */
export function outboxRows(messages: OutboxMessageInput[]): { topic: string; key: string | null; payloadJson: string }[] {
  return messages.map((message) => ({
    topic: validTopic(message.topic),
    key: message.key ?? null,
    payloadJson: toJsonPayload(message.payload, message.topic),
  }));
}

/** Like `publish`, for several messages in one statement; ids in the order given. */
export async function publishMany(executor: OutboxExecutor, messages: OutboxMessageInput[]): Promise<string[]> {
  if (messages.length === 0) return [];
  const rows = outboxRows(messages);
  const ids = await insertMessages(executor, rows);
  return ids.map(String);
}

function validTopic(topic: unknown): string {
  if (typeof topic !== 'string' || topic.trim() === '') {
    throw new OutboxPayloadError(`An outbox topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  }
  return topic;
}

export function toJsonPayload(payload: unknown, topic = '?'): string {
  const json = JSON.stringify(payload, (key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    const problem = unfaithfulJson(value);
    if (problem) {
      throw new OutboxPayloadError(`Outbox payload for topic "${topic}" ${problem} at "${key || '(root)'}"`);
    }
    return value;
  });
  if (json === undefined) throw new OutboxPayloadError(`Outbox payload for topic "${topic}" is not a JSON value`);
  return json;
}

/** JSON.stringify would silently drop or rewrite these values. */
function unfaithfulJson(value: unknown): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return `holds the non-finite number ${value}`;
  if (typeof value === 'function' || typeof value === 'symbol') return `holds a ${typeof value}`;
  if (value instanceof Map || value instanceof Set) return 'holds a Map or Set (convert it to an object or array)';
  return undefined;
}

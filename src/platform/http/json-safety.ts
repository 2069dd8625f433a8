import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Money lives in bigint minor units inside Coffer and leaves as decimal strings.
 * A bigint that reaches the serializer means a route forgot that conversion;
 * a silent fallback (String(10050n) -> "10050") would misstate an amount, so
 * the response fails loudly instead.
 */
export class UnconvertedBigIntError extends Error {
  constructor(readonly path: string) {
    super(`A bigint reached the JSON serializer at ${path}; convert money to a decimal string before replying`);
    this.name = 'UnconvertedBigIntError';
  }
}

/** Where the first bigint sits inside a JSON-bound value (`$.items[2].amount`), or undefined. */
export function findBigInt(value: unknown, path = '$', seen = new WeakSet<object>()): string | undefined {
  if (typeof value === 'bigint') return path;
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBigInt(value[i], `${path}[${i}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const found = findBigInt(child, `${path}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}

/** A preSerialization hook: it sees every object payload, with or without a response schema. */
export async function rejectUnconvertedBigInts(
  _request: FastifyRequest,
  _reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  const at = findBigInt(payload);
  if (at) throw new UnconvertedBigIntError(at);
  return payload;
}

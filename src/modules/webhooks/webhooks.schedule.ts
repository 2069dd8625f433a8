/**
 * The retry schedule (pure). All durations are multiplied by `scale`
 * (WEBHOOK_RETRY_SCALE, 1 in production) so tests can compress a day.
 *
 *   delay(n) = min(maxDelay, base × 2^(n-1)) × jitter,  jitter uniform in [0.5, 1)
 *
 * after the n-th failed attempt; never past the give-up time (the last retry
 * lands on it, so a delivery is tried for at least the whole window), and
 * never before what the receiver's Retry-After asked.
 */
export interface RetrySchedule {
  baseDelayMs: number;
  maxDelayMs: number;
  /** From the delivery's creation to DEAD. */
  windowMs: number;
  /** A receiver's Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number;
  scale: number;
}

export type NextStep = { kind: 'retry'; at: Date } | { kind: 'dead' };

export function nextStep(input: {
  schedule: RetrySchedule;
  /** How many attempts were made, this failed one included (1 after the first). */
  attempts: number;
  now: Date;
  /**
   * When the failed attempt began (default `now`). An attempt that began before
   * the give-up time and ended after it is followed by one more, at once: the
   * last attempt always starts at or after the give-up time.
   */
  startedAt?: Date;
  giveUpAt: Date;
  /** What the receiver's Retry-After asked, unscaled; undefined when it sent none. */
  retryAfterMs: number | undefined;
  random?: () => number;
}): NextStep {
  const { schedule, attempts, now, giveUpAt } = input;
  if ((input.startedAt ?? now).getTime() >= giveUpAt.getTime()) return { kind: 'dead' };
  const random = input.random ?? Math.random;
  const exponential = Math.min(schedule.maxDelayMs, schedule.baseDelayMs * 2 ** Math.min(attempts - 1, 30));
  const backoffMs = exponential * (0.5 + random() / 2) * schedule.scale;
  let at = Math.max(now.getTime(), Math.min(now.getTime() + backoffMs, giveUpAt.getTime()));
  if (input.retryAfterMs !== undefined) {
    // Honoured even past the give-up time: one more attempt when the receiver said it would be back.
    at = Math.max(at, now.getTime() + Math.min(input.retryAfterMs, schedule.maxRetryAfterMs) * schedule.scale);
  }
  return { kind: 'retry', at: new Date(at) };
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3), in ms from now; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now.getTime());
}

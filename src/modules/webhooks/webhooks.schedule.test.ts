import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { nextStep, parseRetryAfter, type RetrySchedule } from './webhooks.schedule.ts';

const DAY = 24 * 3600 * 1000;
const schedule: RetrySchedule = { baseDelayMs: 10_000, maxDelayMs: 3600_000, windowMs: DAY, maxRetryAfterMs: 3600_000, scale: 1 };

/** Failed attempts one after another at their scheduled times, until dead; the times they run at. */
function run(random: () => number, s = schedule): number[] {
  const start = 0;
  const giveUpAt = new Date(start + s.windowMs * s.scale);
  const times = [start];
  for (let attempts = 1; attempts < 10_000; attempts++) {
    const step = nextStep({ schedule: s, attempts, now: new Date(times.at(-1)!), giveUpAt, retryAfterMs: undefined, random });
    if (step.kind === 'dead') return times;
    times.push(step.at.getTime());
  }
  throw new Error('never dead');
}

describe('the retry schedule', () => {
  test('retries for at least the whole window, then dead; delays grow and are capped', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.999999, noNaN: true }), (r) => {
        const times = run(() => r);
        assert.ok(times.at(-1)! >= DAY, 'the last attempt is at the window end');
        assert.ok(times.length < 100);
        for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! <= schedule.maxDelayMs);
      }),
    );
  });

  test('an attempt that began before the give-up time and ended after it is followed by one more, at once', () => {
    const giveUpAt = new Date(DAY);
    const late = { schedule, attempts: 7, now: new Date(DAY + 1500), giveUpAt, retryAfterMs: undefined, random: () => 0.5 };
    assert.deepEqual(nextStep({ ...late, startedAt: new Date(DAY - 500) }), { kind: 'retry', at: new Date(DAY + 1500) });
    assert.deepEqual(nextStep({ ...late, startedAt: giveUpAt }), { kind: 'dead' });
    assert.deepEqual(nextStep(late), { kind: 'dead' }, 'without startedAt, now decides');
  });

  test('the scale compresses the whole schedule', () => {
    const times = run(() => 0.5, { ...schedule, scale: 0.001 });
    assert.ok(times.at(-1)! >= DAY * 0.001 && times.at(-1)! < DAY * 0.001 + 1);
  });

  test('Retry-After is honoured (scaled), even past the backoff', () => {
    const now = new Date(1000);
    const step = nextStep({ schedule: { ...schedule, scale: 0.5 }, attempts: 1, now, giveUpAt: new Date(DAY), retryAfterMs: 120_000, random: () => 0 });
    assert.deepEqual(step, { kind: 'retry', at: new Date(1000 + 60_000) });
  });

  test('parses Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-11-22T08:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 08:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 07:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe('WEBHOOK_RETRY_SCALE', () => {
  test('a number in (0, 1], 1 when unset; anything else refused at start', async () => {
    const { loadConfig } = await import('../../platform/config.ts');
    assert.equal(loadConfig({}).webhooks.scale, 1);
    assert.equal(loadConfig({ WEBHOOK_RETRY_SCALE: '0.00003' }).webhooks.scale, 0.00003);
    assert.equal(loadConfig({ WEBHOOK_RETRY_SCALE: '1e-4' }).webhooks.scale, 0.0001);
    for (const bad of ['0', '2', '-0.5', 'fast', 'NaN']) assert.throws(() => loadConfig({ WEBHOOK_RETRY_SCALE: bad }), /WEBHOOK_RETRY_SCALE/, bad);
    assert.equal(loadConfig({}).webhooks.windowMs, 24 * 3600 * 1000);
  });
});

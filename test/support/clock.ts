import type { Clock } from '../../src/platform/clock.ts';

/** A business clock the test moves by hand, so time rules are tested without sleeping. */
export class TestClock implements Clock {
  private ms: number;
  constructor(start = '2026-11-22T08:00:00.000Z') {
    this.ms = Date.parse(start);
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }
  set(iso: string): Date {
    this.ms = Date.parse(iso);
    return this.now();
  }
}

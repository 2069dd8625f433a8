/**
 * Coffer's business clock. Production reads the wall clock; sandbox mode can
 * move it forward (value dates, expiries and scheduled jobs follow it).
 */
export interface Clock {
  now(): Date;
}

export class SystemClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): Date {
    this.offsetMs += ms;
    return this.now();
  }
}

import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Coffer's business clock. Production reads the wall clock; sandbox mode can
 * move it forward (value dates, expiries and scheduled jobs follow it).
 */
export interface Clock {
  now(): Date;
}

/**
 * The wall clock plus an offset. Over a store (`SystemClock.load`) the offset is
 * the `business_clock` row, so a restart keeps it and every process of one
 * database follows an advance: the process that advances sees it at once, the
 * others at their next `refresh` (main.ts runs it every few seconds).
 */
export class SystemClock implements Clock {
  private offsetMs = 0;

  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    private readonly db?: Kysely<any>,
  ) {}

  /** A clock that follows the stored offset (read once now). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  static async load(db: Kysely<any>): Promise<SystemClock> {
    const clock = new SystemClock(db);
    await clock.refresh();
    return clock;
  }

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Moves this process's clock only (tests of a single service). */
  advance(ms: number): Date {
    this.offsetMs += ms;
    return this.now();
  }

  /** Re-reads the stored offset (another process may have advanced it). */
  async refresh(): Promise<void> {
    if (!this.db) return;
    const { rows } = await sql<{ offsetMs: bigint | string }>`select offset_ms as "offsetMs" from business_clock where id = 1`.execute(this.db);
    // The stored offset only grows: a read that raced this process's own advance must not undo it.
    if (rows[0]) this.offsetMs = Math.max(this.offsetMs, Number(rows[0].offsetMs));
  }

  /** Moves the stored clock forward for every process of this database; answers the new time. */
  async advanceStored(ms: number): Promise<Date> {
    if (!this.db) return this.advance(ms);
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError('the clock only moves forward, by a whole number of milliseconds');
    const { rows } = await sql<{ offsetMs: bigint | string }>`
      update business_clock set offset_ms = offset_ms + ${ms}::int8, updated_at = now() where id = 1
      returning offset_ms as "offsetMs"`.execute(this.db);
    this.offsetMs = Number(rows[0]!.offsetMs);
    return this.now();
  }
}

/** One row: how far the business clock is ahead of the wall clock. */
const businessClock: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table business_clock (
        id int4 primary key check (id = 1),
        offset_ms int8 not null default 0 check (offset_ms >= 0),
        updated_at timestamptz not null default now()
      )`.execute(db);
    await sql`insert into business_clock (id, offset_ms) values (1, 0)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table business_clock`.execute(db);
  },
};

export const clockMigrations: Record<string, Migration> = {
  '2026_12_04_0200_business_clock': businessClock,
};

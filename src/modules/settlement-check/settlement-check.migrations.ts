import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * One run row per checked day (the latest result; `runs` counts how often it
 * ran), claimed with a lease on the database clock so two processes never
 * check one day at once; and the day's findings (breaks and items still in
 * flight), replaced as a whole by each run in the transaction that records it.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table settlement_check_runs (
        date text primary key check (date ~ '^\\d{4}-\\d{2}-\\d{2}$'),
        status text not null check (status in ('RUNNING', 'CLEAN', 'PENDING', 'BROKEN', 'ERROR')),
        items int not null default 0,
        matched int not null default 0,
        pending int not null default 0,
        breaks int not null default 0,
        runs int not null default 0,
        error text,
        statement_sha256 text,
        started_at timestamptz not null,
        finished_at timestamptz,
        lease_token text,
        lease_until timestamptz
      )`.execute(db);
    await sql`
      create table settlement_check_findings (
        date text not null references settlement_check_runs (date),
        seq int not null,
        type text not null check (type in ('PENDING', 'MISSING_IN_LEDGER', 'MISSING_AT_BANK', 'MISSING_IN_RECORDS',
          'AMOUNT_MISMATCH', 'CURRENCY_MISMATCH', 'STATUS_MISMATCH')),
        kind text not null check (kind in ('DEPOSITORY', 'PAYOUT', 'CHANNEL_DEBIT')),
        business_id text not null,
        odd text check (odd in ('ledger', 'records', 'bank')),
        ledger text not null,
        records text not null,
        bank text not null,
        detail text not null,
        primary key (date, seq)
      )`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table settlement_check_findings`.execute(db);
    await sql`drop table settlement_check_runs`.execute(db);
  },
};

export const settlementCheckMigrations: Record<string, Migration> = {
  '2026_12_05_0800_settlement_checks': m001,
};

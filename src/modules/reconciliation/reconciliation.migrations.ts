import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Reconciliation lines (one per payout and final status, the primary key) and
 * days (one row per merchant and day that has lines or was asked for: the lock
 * that orders booking against closing, and, once closed, the stored file).
 * Days are `yyyy-mm-dd` text (UTC), so no driver turns them into local dates.
 */
const r001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table reconciliation_days (
        merchant_id text not null,
        day text not null check (day ~ '^\\d{4}-\\d{2}-\\d{2}$'),
        closed_at timestamptz,
        csv text,
        sha256 text,
        line_count int4,
        created_at timestamptz not null,
        primary key (merchant_id, day),
        check ((closed_at is null) = (csv is null) and (csv is null) = (sha256 is null) and (sha256 is null) = (line_count is null))
      )`.execute(db);
    await sql`create index reconciliation_days_open on reconciliation_days (day) where closed_at is null`.execute(db);
    await sql`
      create table reconciliation_lines (
        payout_id text not null,
        status text not null check (status in ('SUCCEEDED', 'FAILED', 'REVERSED')),
        merchant_id text not null,
        day text not null,
        booked_at timestamptz not null,
        status_at timestamptz not null,
        late boolean not null,
        merchant_order_no text not null,
        beneficiary_account text not null,
        currency text not null,
        amount_minor int8 not null check (amount_minor > 0),
        fee_minor int8 not null check (fee_minor >= 0),
        net_minor int8 not null,
        created_at timestamptz not null,
        primary key (payout_id, status),
        foreign key (merchant_id, day) references reconciliation_days (merchant_id, day)
      )`.execute(db);
    await sql`create index reconciliation_lines_day on reconciliation_lines (merchant_id, day)`.execute(db);
    // A closed day's file never changes: the database refuses it too.
    await sql`
      create function reconciliation_days_closed_is_final() returns trigger language plpgsql as $$
      begin
        if old.closed_at is not null then
          raise exception 'reconciliation day % of % is closed: its file never changes', old.day, old.merchant_id using errcode = 'CF004';
        end if;
        return new;
      end $$`.execute(db);
    await sql`
      create trigger reconciliation_days_closed_is_final before update or delete on reconciliation_days
      for each row execute function reconciliation_days_closed_is_final()`.execute(db);
    await sql`
      create function reconciliation_lines_open_day() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from reconciliation_days where merchant_id = new.merchant_id and day = new.day and closed_at is not null) then
          raise exception 'reconciliation day % of % is closed: no line joins it', new.day, new.merchant_id using errcode = 'CF004';
        end if;
        return new;
      end $$`.execute(db);
    await sql`
      create trigger reconciliation_lines_open_day before insert or update on reconciliation_lines
      for each row execute function reconciliation_lines_open_day()`.execute(db);
  },
};

export const reconciliationMigrations: Record<string, Migration> = {
  '2026_12_03_1400_001_reconciliation': r001,
};

import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The agent's transaction records: one row per request sent to the bank.
 * request_no is unique (the teaching system this comes from had no such index
 * and could settle one request twice); status only ever leaves PENDING once,
 * through a guarded update (depository.repository.ts).
 *
 * next_query_at / query_attempts drive the status-query job: a process claims
 * a due row by pushing next_query_at forward under FOR UPDATE SKIP LOCKED, so
 * several processes never ask the bank about one record at the same time.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table depository_transactions (
        request_no text primary key,
        service_name text not null check (service_name in ('PERSONAL_REGISTER', 'RECHARGE', 'WITHDRAW')),
        user_no text not null,
        amount_minor int8 check (amount_minor is null or amount_minor > 0),
        fee_minor int8 check (fee_minor is null or fee_minor >= 0),
        currency text not null,
        card_number_masked text,
        status text not null default 'PENDING' check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
        synced boolean not null default false,
        request_data text not null,
        result_data text,
        error_code text,
        next_query_at timestamptz not null,
        query_attempts int not null default 0,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        settled_at timestamptz,
        check ((status = 'PENDING') = (settled_at is null)),
        check ((status = 'PENDING') = (not synced))
      )`.execute(db);
    await sql`create index depository_transactions_due on depository_transactions (next_query_at) where status = 'PENDING'`.execute(db);
    await sql`create index depository_transactions_user on depository_transactions (user_no, created_at)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table depository_transactions`.execute(db);
  },
};

/** When the bank stops acting on a request (null for requests signed before requests expired). */
const m002: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table depository_transactions add column expires_at timestamptz`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`alter table depository_transactions drop column expires_at`.execute(db);
  },
};

/** BIND_CARD (add a bound card through the bank) is a fourth service; like PERSONAL_REGISTER it has no amount. */
const m003: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table depository_transactions drop constraint depository_transactions_service_name_check`.execute(db);
    await sql`
      alter table depository_transactions add constraint depository_transactions_service_name_check
      check (service_name in ('PERSONAL_REGISTER', 'RECHARGE', 'WITHDRAW', 'BIND_CARD'))`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`alter table depository_transactions drop constraint depository_transactions_service_name_check`.execute(db);
    await sql`
      alter table depository_transactions add constraint depository_transactions_service_name_check
      check (service_name in ('PERSONAL_REGISTER', 'RECHARGE', 'WITHDRAW'))`.execute(db);
  },
};

/** The settlement check reads each day's final items by the time they became final. */
const finalDay: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`create index depository_transactions_final_day on depository_transactions (settled_at) where status <> 'PENDING'`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index depository_transactions_final_day`.execute(db);
  },
};

export const depositoryMigrations: Record<string, Migration> = {
  '2026_11_22_0300_depository': m001,
  '2026_11_22_0711_depository_request_expiry': m002,
  '2026_11_22_0600_depository_bind_card': m003,
  '2026_12_05_0803_depository_final_day': finalDay,
};

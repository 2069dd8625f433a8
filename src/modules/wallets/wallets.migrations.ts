import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The user center's records (seed 000's 用户中心). Balances live in the ledger;
 * these tables hold what the user asked for and what the bank answered.
 * request_no links a record to the agent's transaction record (by value only:
 * the agent's table is its own).
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table depository_accounts (
        user_id text primary key,
        user_no text not null unique,
        status text not null check (status in ('OPENING', 'OPENED')),
        request_no text not null,
        card_number_masked text,
        bank_code text,
        opened_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        check ((status = 'OPENED') = (opened_at is not null))
      )`.execute(db);
    await sql`
      create table bound_cards (
        id text primary key,
        user_id text not null,
        card_number_masked text not null,
        bank_code text,
        request_no text not null,
        created_at timestamptz not null,
        unique (user_id, card_number_masked)
      )`.execute(db);
    await sql`
      create table recharge_records (
        id text primary key,
        user_id text not null,
        request_no text not null unique,
        amount_minor int8 not null check (amount_minor > 0),
        currency text not null,
        status text not null default 'PENDING' check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
        error_code text,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`create index recharge_records_user on recharge_records (user_id, id)`.execute(db);
    await sql`
      create table withdraw_records (
        id text primary key,
        user_id text not null,
        request_no text not null unique,
        amount_minor int8 not null check (amount_minor > 0),
        fee_minor int8 not null check (fee_minor >= 0),
        currency text not null,
        card_number_masked text,
        status text not null default 'PENDING' check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
        error_code text,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`create index withdraw_records_user on withdraw_records (user_id, id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table withdraw_records, recharge_records, bound_cards, depository_accounts`.execute(db);
  },
};

/** Risk control on withdrawals (SPEC 6): the decision, the SMS code, and the states before the bank. */
const m003: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table withdraw_records drop constraint withdraw_records_status_check`.execute(db);
    await sql`
      alter table withdraw_records add constraint withdraw_records_status_check
      check (status in ('AWAITING_VERIFICATION', 'AWAITING_REVIEW', 'READY', 'PENDING', 'SUCCEEDED', 'FAILED'))`.execute(db);
    await sql`alter table withdraw_records add column risk_decision_id text, add column risk_level text,
      add column sms_challenge_id text, add column callback_url text`.execute(db);
    await sql`
      create index withdraw_records_unsent on withdraw_records (updated_at)
      where status in ('AWAITING_VERIFICATION', 'READY')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index withdraw_records_unsent`.execute(db);
    await sql`alter table withdraw_records drop column risk_decision_id, drop column risk_level,
      drop column sms_challenge_id, drop column callback_url`.execute(db);
  },
};

/**
 * Bound cards can be removed and added through the bank (BIND_CARD). A removed
 * card keeps its row (removed_at set), so a late or repeated bank notification
 * of the request that bound it finds its request number taken and adds nothing:
 * request_no is unique. Only active cards must be unique per user, so a card
 * removed and bound again later is a new row.
 */
const m002: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table bound_cards add column removed_at timestamptz`.execute(db);
    await sql`alter table bound_cards drop constraint bound_cards_user_id_card_number_masked_key`.execute(db);
    await sql`create unique index bound_cards_active_card on bound_cards (user_id, card_number_masked) where removed_at is null`.execute(db);
    await sql`create unique index bound_cards_request_no on bound_cards (request_no)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index bound_cards_request_no`.execute(db);
    await sql`drop index bound_cards_active_card`.execute(db);
    await sql`delete from bound_cards where removed_at is not null`.execute(db);
    await sql`alter table bound_cards add constraint bound_cards_user_id_card_number_masked_key unique (user_id, card_number_masked)`.execute(db);
    await sql`alter table bound_cards drop column removed_at`.execute(db);
  },
};

export const walletsMigrations: Record<string, Migration> = {
  '2026_11_22_0310_wallets': m001,
  '2026_11_22_0601_wallets_card_removal': m002,
  '2026_11_22_0712_withdraw_verification': m003,
};

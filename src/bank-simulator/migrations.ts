import { type Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import type { Store } from '../platform/db/store.ts';

/**
 * The simulator's own schema (tables prefixed bank_), tracked in its own
 * migration table so it can share a PostgreSQL database with Coffer without
 * either migrator mistaking the other's history for corruption.
 */
export const bankMigrations: Record<string, Migration> = {
  bank_001_initial: {
    async up(db: Kysely<unknown>) {
      await sql`
        create table bank_users (
          user_no text primary key,
          real_name text not null,
          id_number text not null,
          mobile text not null,
          password_hash text not null,
          failed_attempts integer not null default 0 check (failed_attempts >= 0),
          locked_until timestamptz,
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`
        create table bank_virtual_accounts (
          user_no text primary key,
          currency text not null,
          balance_minor bigint not null default 0 check (balance_minor >= 0),
          updated_at timestamptz not null default now()
        )`.execute(db);
      await sql`
        create table bank_cards (
          card_number text primary key,
          bank_code text,
          holder_user_no text,
          currency text not null,
          balance_minor bigint not null check (balance_minor >= 0),
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index bank_cards_holder on bank_cards (holder_user_no)`.execute(db);
      await sql`
        create table bank_requests (
          platform_no text not null,
          request_no text not null,
          service_name text not null,
          user_no text not null,
          amount_minor bigint check (amount_minor > 0),
          fee_minor bigint check (fee_minor >= 0),
          currency text,
          card_number text,
          status text not null check (status in ('PENDING', 'SUCCESS', 'FAIL')),
          error_code text,
          error_message text,
          form_token text not null,
          request_data text not null,
          result_data text,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          primary key (platform_no, request_no)
        )`.execute(db);
      await sql`
        create table bank_notifications (
          id text primary key,
          platform_no text not null,
          request_no text not null,
          service_name text not null,
          status text not null check (status in ('SUCCESS', 'FAIL')),
          notify_url text not null,
          req_data text not null,
          signature text not null,
          attempts jsonb not null default '[]'::jsonb,
          next_attempt_at timestamptz not null,
          state text not null check (state in ('PENDING', 'DELIVERED', 'DEAD')),
          created_at timestamptz not null default now(),
          unique (platform_no, request_no)
        )`.execute(db);
      await sql`create index bank_notifications_due on bank_notifications (next_attempt_at) where state = 'PENDING'`.execute(db);
    },
  },
  /**
   * The payout channel (src/protocol/payout-channel.ts). A payout can notify
   * twice (SUCCEEDED, then REVERSED), so a notification is now one per request
   * and outcome; a depository request still has only one outcome.
   */
  bank_010_payouts: {
    async up(db: Kysely<unknown>) {
      await sql`
        create table bank_payouts (
          platform_no text not null,
          payout_id text not null,
          amount_minor bigint not null check (amount_minor > 0),
          currency text not null,
          beneficiary_name text not null,
          beneficiary_account_no text not null,
          beneficiary_bank_code text not null,
          notify_url text not null,
          request_data text not null,
          status text not null check (status in ('PROCESSING', 'SUCCEEDED', 'FAILED', 'REVERSED')),
          outcome text not null check (outcome in ('succeed', 'fail', 'timeout', 'reverse')),
          error_code text,
          error_message text,
          channel_ref text not null unique,
          decide_at timestamptz,
          reverse_at timestamptz,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          primary key (platform_no, payout_id)
        )`.execute(db);
      await sql`create index bank_payouts_decide_due on bank_payouts (decide_at) where status = 'PROCESSING' and decide_at is not null`.execute(db);
      await sql`create index bank_payouts_reverse_due on bank_payouts (reverse_at) where status = 'SUCCEEDED' and reverse_at is not null`.execute(db);
      await sql`alter table bank_notifications drop constraint bank_notifications_platform_no_request_no_key`.execute(db);
      await sql`alter table bank_notifications add constraint bank_notifications_one_per_outcome unique (platform_no, request_no, status)`.execute(db);
      await sql`alter table bank_notifications drop constraint bank_notifications_status_check`.execute(db);
      await sql`
        alter table bank_notifications add constraint bank_notifications_status_check
        check (status in ('SUCCESS', 'FAIL', 'SUCCEEDED', 'FAILED', 'REVERSED'))`.execute(db);
    },
  },
  /**
   * Incoming transfers to the platform's account (src/protocol/transfer-in.ts),
   * recorded by the sandbox control and notified to the platform as TRANSFER_IN
   * (status SUCCESS: money that arrived has arrived) with the usual retries.
   */
  bank_020_transfers_in: {
    async up(db: Kysely<unknown>) {
      await sql`
        create table bank_transfers_in (
          platform_no text not null,
          transfer_no text not null,
          payee_account_no text not null,
          amount_minor bigint not null check (amount_minor > 0),
          currency text not null,
          payer_name text not null,
          notify_url text not null,
          req_data text not null,
          created_at timestamptz not null default now(),
          primary key (platform_no, transfer_no)
        )`.execute(db);
    },
  },
  /**
   * The card payment channels (src/protocol/payment-channel.ts): one row per
   * attempt at a channel (the channel's idempotency key), and the codes the
   * quick-pay channels text (their own SMS sink; the newest code of an attempt
   * is the one that counts).
   */
  bank_030_payment_channels: {
    async up(db: Kysely<unknown>) {
      await sql`
        create table bank_channel_attempts (
          channel_code text not null,
          attempt_no text not null,
          amount_minor bigint not null check (amount_minor > 0),
          currency text not null,
          card_number text not null,
          holder_name text not null,
          mobile text not null,
          bank_code text not null,
          status text not null check (status in ('SMS_SENT', 'SUCCESS', 'FAIL')),
          error_code text,
          error_message text,
          wrong_codes integer not null default 0 check (wrong_codes >= 0),
          channel_ref text not null unique,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          primary key (channel_code, attempt_no)
        )`.execute(db);
      await sql`
        create table bank_channel_sms (
          id bigint generated always as identity primary key,
          channel_code text not null,
          attempt_no text not null,
          mobile text not null,
          code text not null,
          sent_at timestamptz not null,
          expires_at timestamptz not null,
          foreign key (channel_code, attempt_no) references bank_channel_attempts (channel_code, attempt_no)
        )`.execute(db);
      await sql`create index bank_channel_sms_attempt on bank_channel_sms (channel_code, attempt_no, id)`.execute(db);
      await sql`create index bank_channel_sms_mobile on bank_channel_sms (mobile, id)`.execute(db);
    },
  },
  /** The daily statement (statements.ts) reads each day's final items by the time they became final. */
  bank_050_statement_indexes: {
    async up(db: Kysely<unknown>) {
      await sql`create index bank_requests_final_day on bank_requests (updated_at) where status <> 'PENDING'`.execute(db);
      await sql`create index bank_payouts_final_day on bank_payouts (updated_at) where status <> 'PROCESSING'`.execute(db);
      await sql`create index bank_channel_attempts_final_day on bank_channel_attempts (updated_at) where status <> 'SMS_SENT'`.execute(db);
    },
  },
};

export async function migrateBankStore(store: Store): Promise<void> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => bankMigrations },
    migrationTableName: 'bank_migration',
    migrationLockTableName: 'bank_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Bank migration ${failed} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}

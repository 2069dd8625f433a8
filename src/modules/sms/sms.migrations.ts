import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * One-time SMS codes.
 *
 * - sms_challenges: one row per code sent. Only an HMAC of the code is kept
 *   (see sms.code.ts); attempts are counted and the status moves only through
 *   guarded updates, so two verifications racing cannot both succeed or exceed
 *   max_attempts.
 * - sms_send_slots: one row per (purpose, subject) holding the last send time;
 *   the resend cool-down is a single conditional upsert on it.
 * - sms_sink_messages: the development sink. In sandbox mode the sent text
 *   (with the code) is kept here for the admin console and GET /sandbox/sms;
 *   in non-sandbox mode nothing is written to it.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table sms_challenges (
        id text primary key,
        purpose text not null,
        subject_id text not null,
        mobile text not null,
        code_hash text not null,
        status text not null default 'PENDING' check (status in ('PENDING', 'VERIFIED', 'EXHAUSTED', 'SUPERSEDED')),
        attempts int4 not null default 0,
        max_attempts int4 not null check (max_attempts > 0),
        expires_at timestamptz not null,
        created_at timestamptz not null,
        verified_at timestamptz,
        check (attempts >= 0 and attempts <= max_attempts),
        check ((status = 'VERIFIED') = (verified_at is not null)),
        check (expires_at > created_at)
      )`.execute(db);
    await sql`create index sms_challenges_subject on sms_challenges (purpose, subject_id) where status = 'PENDING'`.execute(db);
    await sql`
      create table sms_send_slots (
        purpose text not null,
        subject_id text not null,
        last_sent_at timestamptz not null,
        primary key (purpose, subject_id)
      )`.execute(db);
    await sql`
      create table sms_sink_messages (
        id text primary key,
        challenge_id text,
        purpose text,
        mobile text not null,
        text text not null,
        created_at timestamptz not null
      )`.execute(db);
    await sql`create index sms_sink_messages_mobile on sms_sink_messages (mobile, id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table sms_sink_messages, sms_send_slots, sms_challenges`.execute(db);
  },
};

export const smsMigrations: Record<string, Migration> = {
  '2026_11_22_0500_sms': m001,
};

import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Merchants, their fee rules, API keys (secrets encrypted, see
 * merchants.secrets.ts), the replay guard of signed requests, balance
 * adjustments, and operators with their sessions.
 *
 * The database enforces what it can: statuses and roles by check constraints,
 * one fee rule per (merchant, product, currency), fee terms that cannot give a
 * negative fee or min > max, one adjustment per (merchant, Idempotency-Key),
 * and a signed request seen once per (key, timestamp, signature).
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table merchants (
        id text primary key,
        name text not null check (length(name) between 1 and 200),
        status text not null check (status in ('PENDING_REVIEW', 'ACTIVE', 'SUSPENDED')),
        products jsonb not null,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`
      create table merchant_fee_rules (
        merchant_id text not null references merchants (id),
        product text not null check (product in ('PAYOUT_SINGLE', 'PAYOUT_BATCH')),
        currency text not null,
        fixed_minor int8 not null check (fixed_minor >= 0),
        rate_bp int4 not null check (rate_bp between 0 and 10000),
        min_minor int8 check (min_minor >= 0),
        max_minor int8 check (max_minor >= 0),
        primary key (merchant_id, product, currency),
        check (min_minor is null or max_minor is null or min_minor <= max_minor)
      )`.execute(db);
    await sql`
      create table merchant_api_keys (
        id text primary key,
        merchant_id text not null references merchants (id),
        role text not null check (role in ('maker', 'checker')),
        secret_sealed text not null,
        created_at timestamptz not null,
        revoked_at timestamptz
      )`.execute(db);
    await sql`create index merchant_api_keys_merchant on merchant_api_keys (merchant_id, id)`.execute(db);
    await sql`
      create table merchant_request_nonces (
        key_id text not null,
        ts int8 not null,
        signature text not null,
        seen_at timestamptz not null,
        primary key (key_id, ts, signature)
      )`.execute(db);
    await sql`create index merchant_request_nonces_ts on merchant_request_nonces (ts)`.execute(db);
    await sql`
      create table merchant_adjustments (
        id text primary key,
        merchant_id text not null references merchants (id),
        account_id text not null,
        amount_minor int8 not null check (amount_minor > 0),
        currency text not null,
        reason text not null check (length(reason) between 1 and 500),
        status text not null check (status in ('PENDING', 'POSTED', 'FAILED')),
        transfer_id text not null unique,
        request_key text,
        created_by_kind text not null,
        created_by_id text not null,
        created_at timestamptz not null,
        posted_at timestamptz,
        unique (merchant_id, request_key)
      )`.execute(db);
    await sql`create index merchant_adjustments_pending on merchant_adjustments (created_at) where status = 'PENDING'`.execute(db);
    await sql`
      create table operators (
        id text primary key,
        username text not null unique,
        password_hash text not null,
        role text not null check (role in ('admin', 'maker', 'checker', 'viewer')),
        merchant_id text references merchants (id),
        status text not null default 'ACTIVE' check (status in ('ACTIVE', 'DISABLED')),
        failed_logins int4 not null default 0 check (failed_logins >= 0),
        locked_until timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        check (role <> 'admin' or merchant_id is null),
        check (role not in ('maker', 'checker') or merchant_id is not null)
      )`.execute(db);
    await sql`
      create table operator_sessions (
        id text primary key,
        operator_id text not null references operators (id),
        token_hash text not null unique,
        created_at timestamptz not null,
        expires_at timestamptz not null,
        revoked_at timestamptz,
        check (expires_at > created_at)
      )`.execute(db);
    await sql`create index operator_sessions_operator on operator_sessions (operator_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table operator_sessions, operators, merchant_adjustments, merchant_request_nonces, merchant_api_keys, merchant_fee_rules, merchants`.execute(db);
  },
};

export const merchantsMigrations: Record<string, Migration> = {
  '2026_11_22_0400_merchants': m001,
};

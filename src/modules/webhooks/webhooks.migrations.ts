import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Webhook endpoints (secrets sealed by SecretBox, several live during a
 * rotation), events (one per source fact: `source_key` unique), deliveries
 * (one per (event, endpoint)) and every attempt.
 */
const w001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table webhook_endpoints (
        id text primary key,
        merchant_id text not null,
        url text not null check (length(url) between 1 and 2048),
        status text not null check (status in ('ACTIVE', 'DELETED')),
        created_at timestamptz not null,
        deleted_at timestamptz
      )`.execute(db);
    await sql`create index webhook_endpoints_merchant on webhook_endpoints (merchant_id, status)`.execute(db);
    await sql`
      create table webhook_endpoint_secrets (
        id text primary key,
        endpoint_id text not null references webhook_endpoints (id),
        secret_sealed text not null,
        created_at timestamptz not null,
        -- null while it is the current secret; set (now + the overlap) when a rotation replaces it
        expires_at timestamptz
      )`.execute(db);
    await sql`create index webhook_endpoint_secrets_endpoint on webhook_endpoint_secrets (endpoint_id)`.execute(db);
    await sql`
      create table webhook_events (
        id text primary key,
        merchant_id text not null,
        type text not null check (type in ('payout.succeeded', 'payout.failed', 'payout.reversed', 'payout_batch.processed')),
        source_key text not null unique,
        body text not null,
        resource_updated_at timestamptz not null,
        created_at timestamptz not null
      )`.execute(db);
    await sql`
      create table webhook_deliveries (
        id text primary key,
        event_id text not null references webhook_events (id),
        endpoint_id text not null references webhook_endpoints (id),
        merchant_id text not null,
        status text not null check (status in ('PENDING', 'DELIVERED', 'DEAD', 'CANCELLED')),
        attempt_count int4 not null default 0,
        next_attempt_at timestamptz,
        leased_until timestamptz,
        give_up_at timestamptz not null,
        delivered_at timestamptz,
        created_at timestamptz not null,
        unique (event_id, endpoint_id)
      )`.execute(db);
    await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'PENDING'`.execute(db);
    await sql`create index webhook_deliveries_merchant on webhook_deliveries (merchant_id, id)`.execute(db);
    await sql`
      create table webhook_attempts (
        delivery_id text not null references webhook_deliveries (id),
        attempt int4 not null,
        at timestamptz not null,
        duration_ms int4 not null,
        http_status int4,
        error text,
        response_body text,
        primary key (delivery_id, attempt)
      )`.execute(db);
  },
};

export const webhooksMigrations: Record<string, Migration> = {
  '2026_11_22_0800_001_webhooks': w001,
};

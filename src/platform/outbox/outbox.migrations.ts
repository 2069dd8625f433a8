import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * One row per message. A row is pending until `delivered_at` or `parked_at` is
 * set; `locked_until`/`locked_by` are a relay's lease on it while its handlers
 * run (outside any transaction). `done_consumers` remembers which subscribers
 * already succeeded, so a retry after one consumer failed does not replay the
 * message to the others.
 */
const m0050: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table outbox_messages (
        id bigint generated always as identity primary key,
        topic text not null check (topic <> ''),
        key text,
        payload jsonb not null,
        created_at timestamptz not null default now(),
        available_at timestamptz not null default now(),
        attempts int not null default 0 check (attempts >= 0),
        locked_until timestamptz,
        locked_by text,
        last_error text,
        delivered_at timestamptz,
        parked_at timestamptz,
        done_consumers text[] not null default '{}',
        check (delivered_at is null or parked_at is null)
      )`.execute(db);
    // The relay scans in id order (delivery order) and filters on available_at;
    // having both columns in the index lets it skip backed-off rows without
    // reading them, and the predicate keeps delivered history out of it.
    await sql`
      create index outbox_messages_ready on outbox_messages (id, available_at)
      where delivered_at is null and parked_at is null`.execute(db);
    await sql`create index outbox_messages_parked on outbox_messages (id) where parked_at is not null`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table outbox_messages`.execute(db);
  },
};

/**
 * How often a message was parked. A broker de-duplicates publishes by message
 * id; a message an operator retried after parking is published again under a
 * new id (row id and this count), or the broker would drop it as a duplicate.
 */
const m0400: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table outbox_messages add column parks int not null default 0 check (parks >= 0)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`alter table outbox_messages drop column parks`.execute(db);
  },
};

/** Finds an unfinished earlier message of the same key, which holds a message back (claimBatch). */
const m0100: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create index outbox_messages_key_order on outbox_messages (key, id)
      where delivered_at is null and parked_at is null and key is not null`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index outbox_messages_key_order`.execute(db);
  },
};

export const outboxMigrations: Record<string, Migration> = {
  '2026_11_22_0050_outbox': m0050,
  '2026_12_04_0400_outbox_parks': m0400,
  '2026_12_05_0100_outbox_key_order': m0100,
};

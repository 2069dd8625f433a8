import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Users and their login sessions. A session row keeps only sha256(token): a
 * leaked table does not let anyone log in. Lockout state (failed_logins,
 * locked_until) lives on the user row so it is changed atomically with one
 * conditional UPDATE.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table users (
        id text primary key,
        mobile text not null unique,
        password_hash text not null,
        status text not null default 'ACTIVE' check (status in ('ACTIVE', 'FROZEN')),
        failed_logins int4 not null default 0 check (failed_logins >= 0),
        locked_until timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`
      create table user_sessions (
        id text primary key,
        user_id text not null references users (id),
        token_hash text not null unique,
        created_at timestamptz not null,
        expires_at timestamptz not null,
        revoked_at timestamptz,
        check (expires_at > created_at)
      )`.execute(db);
    await sql`create index user_sessions_user on user_sessions (user_id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table user_sessions, users`.execute(db);
  },
};

export const usersMigrations: Record<string, Migration> = {
  '2026_11_22_0200_users': m001,
};

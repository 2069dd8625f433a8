import { type Kysely, sql } from 'kysely';
import type { AuthenticatedUser, SessionId, User, UserId, UserStatus } from './users.types.ts';

/** SQL only. Every statement runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const userColumns = sql`
  id, mobile, status, failed_logins as "failedLogins", locked_until as "lockedUntil",
  created_at as "createdAt", updated_at as "updatedAt"`;

export interface NewUser {
  id: UserId;
  mobile: string;
  passwordHash: string;
  now: Date;
}

/** Inserts the user; false when the mobile is taken (no exception, so a transaction stays usable). */
export async function insertUser(db: Executor, user: NewUser): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    insert into users (id, mobile, password_hash, status, created_at, updated_at)
    values (${user.id}, ${user.mobile}, ${user.passwordHash}, 'ACTIVE', ${user.now}, ${user.now})
    on conflict (mobile) do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

export async function findUser(db: Executor, id: string): Promise<User | undefined> {
  const { rows } = await sql<User>`select ${userColumns} from users where id = ${id}`.execute(db);
  return rows[0];
}

export async function findUserByMobile(db: Executor, mobile: string): Promise<(User & { passwordHash: string }) | undefined> {
  const { rows } = await sql<User & { passwordHash: string }>`
    select ${userColumns}, password_hash as "passwordHash" from users where mobile = ${mobile}`.execute(db);
  return rows[0];
}

/** Users in id (= creation) order after `startingAfter`; one more than `limit` tells whether more exist. */
export async function listUsers(db: Executor, limit: number, startingAfter: string | undefined): Promise<User[]> {
  const { rows } = await sql<User>`
    select ${userColumns} from users
    where ${startingAfter === undefined ? sql`true` : sql`id > ${startingAfter}`}
    order by id limit ${limit}`.execute(db);
  return rows;
}

export async function setStatus(db: Executor, id: string, status: UserStatus, now: Date): Promise<User | undefined> {
  const { rows } = await sql<User>`
    update users set status = ${status},
      updated_at = case when status = ${status} then updated_at else ${now} end
    where id = ${id} returning ${userColumns}`.execute(db);
  return rows[0];
}

/** The user's status, row-locked against a concurrent freeze until the caller's transaction ends. */
export async function statusForShare(db: Executor, id: string): Promise<UserStatus | undefined> {
  const { rows } = await sql<{ status: UserStatus }>`select status from users where id = ${id} for share`.execute(db);
  return rows[0]?.status;
}

/**
 * Counts a failed login unless the account is locked. The failure that
 * reaches `maxFailures` locks the account until `lockUntil` and restarts the
 * count, so after the lock the user again has `maxFailures` tries.
 * Undefined means the account was locked already (nothing counted).
 */
export async function recordFailure(
  db: Executor,
  id: string,
  maxFailures: number,
  lockUntil: Date,
  now: Date,
): Promise<{ lockedUntil: Date | null } | undefined> {
  const { rows } = await sql<{ lockedUntil: Date | null }>`
    update users set
      failed_logins = case when failed_logins + 1 >= ${maxFailures} then 0 else failed_logins + 1 end,
      locked_until = case when failed_logins + 1 >= ${maxFailures} then ${lockUntil}::timestamptz else null end
    where id = ${id} and (locked_until is null or locked_until <= ${now})
    returning locked_until as "lockedUntil"`.execute(db);
  return rows[0];
}

/** Clears the failure count on a good password, unless a lock was set meanwhile (then false). */
export async function recordSuccess(db: Executor, id: string, now: Date, newPasswordHash?: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update users set failed_logins = 0, locked_until = null
      ${newPasswordHash === undefined ? sql`` : sql`, password_hash = ${newPasswordHash}`}
    where id = ${id} and (locked_until is null or locked_until <= ${now})
    returning id`.execute(db);
  return rows.length === 1;
}

export async function insertSession(
  db: Executor,
  session: { id: SessionId; userId: UserId; tokenHash: string; createdAt: Date; expiresAt: Date },
): Promise<void> {
  await sql`
    insert into user_sessions (id, user_id, token_hash, created_at, expires_at)
    values (${session.id}, ${session.userId}, ${session.tokenHash}, ${session.createdAt}, ${session.expiresAt})`.execute(db);
}

/** The live session with this token hash and its user; undefined if unknown, expired or revoked. */
export async function findLiveSession(db: Executor, tokenHash: string, now: Date): Promise<AuthenticatedUser | undefined> {
  const { rows } = await sql<AuthenticatedUser>`
    select u.id, u.mobile, u.status, s.id as "sessionId"
    from user_sessions s join users u on u.id = s.user_id
    where s.token_hash = ${tokenHash} and s.revoked_at is null and s.expires_at > ${now}`.execute(db);
  return rows[0];
}

export async function revokeSessionByHash(db: Executor, tokenHash: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update user_sessions set revoked_at = ${now}
    where token_hash = ${tokenHash} and revoked_at is null returning id`.execute(db);
  return rows.length === 1;
}

export async function deleteEndedSessions(db: Executor, endedBefore: Date): Promise<number> {
  const result = await sql`
    delete from user_sessions where expires_at < ${endedBefore} or revoked_at < ${endedBefore}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

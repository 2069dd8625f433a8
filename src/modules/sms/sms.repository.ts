import { type Kysely, sql } from 'kysely';
import type { Challenge, ChallengeId, SinkMessage, SmsMessageId } from './sms.types.ts';

/** SQL only. Every statement runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const challengeColumns = sql`
  id, purpose, subject_id as "subjectId", mobile, code_hash as "codeHash", status, attempts,
  max_attempts as "maxAttempts", expires_at as "expiresAt", created_at as "createdAt", verified_at as "verifiedAt"`;

/**
 * Takes the (purpose, subject) send slot if the last send is at or before
 * `cutoff`: one conditional upsert, so two sends racing cannot both pass the
 * cool-down. False when it is too soon (`lastSentAt` then says since when).
 */
export async function takeSendSlot(
  db: Executor,
  slot: { purpose: string; subjectId: string; now: Date; cutoff: Date },
): Promise<boolean> {
  const { rows } = await sql<{ purpose: string }>`
    insert into sms_send_slots (purpose, subject_id, last_sent_at)
    values (${slot.purpose}, ${slot.subjectId}, ${slot.now})
    on conflict (purpose, subject_id) do update set last_sent_at = excluded.last_sent_at
    where sms_send_slots.last_sent_at <= ${slot.cutoff}
    returning purpose`.execute(db);
  return rows.length === 1;
}

export async function lastSentAt(db: Executor, purpose: string, subjectId: string): Promise<Date | undefined> {
  const { rows } = await sql<{ lastSentAt: Date }>`
    select last_sent_at as "lastSentAt" from sms_send_slots where purpose = ${purpose} and subject_id = ${subjectId}`.execute(db);
  return rows[0]?.lastSentAt;
}

/** A newer code replaces the older ones of the same purpose and subject. */
export async function supersedePending(db: Executor, purpose: string, subjectId: string): Promise<number> {
  const result = await sql`
    update sms_challenges set status = 'SUPERSEDED'
    where purpose = ${purpose} and subject_id = ${subjectId} and status = 'PENDING'`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

export async function insertChallenge(
  db: Executor,
  c: { id: ChallengeId; purpose: string; subjectId: string; mobile: string; codeHash: string; maxAttempts: number; expiresAt: Date; now: Date },
): Promise<void> {
  await sql`
    insert into sms_challenges (id, purpose, subject_id, mobile, code_hash, status, attempts, max_attempts, expires_at, created_at)
    values (${c.id}, ${c.purpose}, ${c.subjectId}, ${c.mobile}, ${c.codeHash}, 'PENDING', 0, ${c.maxAttempts}, ${c.expiresAt}, ${c.now})`.execute(db);
}

export async function findChallenge(db: Executor, id: string): Promise<Challenge | undefined> {
  const { rows } = await sql<Challenge>`select ${challengeColumns} from sms_challenges where id = ${id}`.execute(db);
  return rows[0];
}

/**
 * The right code: PENDING -> VERIFIED, counting the attempt, only while the
 * challenge is live. The row lock makes a concurrent verification re-check
 * this WHERE against the committed row, so only one of them gets a row back.
 */
export async function markVerified(db: Executor, id: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update sms_challenges set status = 'VERIFIED', verified_at = ${now}, attempts = attempts + 1
    where id = ${id} and status = 'PENDING' and expires_at > ${now} and attempts < max_attempts
    returning id`.execute(db);
  return rows.length === 1;
}

/**
 * A wrong code: counts one attempt while the challenge is live; the attempt
 * that uses the last one also moves it to EXHAUSTED. Undefined when nothing
 * was counted (the challenge is no longer live).
 */
export async function countWrongAttempt(db: Executor, id: string, now: Date): Promise<{ attempts: number; maxAttempts: number } | undefined> {
  const { rows } = await sql<{ attempts: number; maxAttempts: number }>`
    update sms_challenges set attempts = attempts + 1,
      status = case when attempts + 1 >= max_attempts then 'EXHAUSTED' else status end
    where id = ${id} and status = 'PENDING' and expires_at > ${now} and attempts < max_attempts
    returning attempts, max_attempts as "maxAttempts"`.execute(db);
  return rows[0];
}

export async function insertSinkMessage(
  db: Executor,
  m: { id: SmsMessageId; challengeId: string | null; purpose: string | null; mobile: string; text: string; now: Date },
): Promise<void> {
  await sql`
    insert into sms_sink_messages (id, challenge_id, purpose, mobile, text, created_at)
    values (${m.id}, ${m.challengeId}, ${m.purpose}, ${m.mobile}, ${m.text}, ${m.now})`.execute(db);
}

/** Newest first, optionally of one mobile, before the cursor id. */
export async function listSinkMessages(db: Executor, mobile: string | undefined, limit: number, startingAfter: string | undefined): Promise<SinkMessage[]> {
  const { rows } = await sql<SinkMessage>`
    select id, challenge_id as "challengeId", purpose, mobile, text, created_at as "createdAt"
    from sms_sink_messages
    where ${mobile === undefined ? sql`true` : sql`mobile = ${mobile}`}
      and ${startingAfter === undefined ? sql`true` : sql`id < ${startingAfter}`}
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

/** Deletes challenges that expired before `before` and sink messages older than it; returns how many rows went. */
export async function deleteOld(db: Executor, before: Date): Promise<number> {
  const challenges = await sql`delete from sms_challenges where expires_at < ${before}`.execute(db);
  const sink = await sql`delete from sms_sink_messages where created_at < ${before}`.execute(db);
  const slots = await sql`delete from sms_send_slots where last_sent_at < ${before}`.execute(db);
  return Number(challenges.numAffectedRows ?? 0n) + Number(sink.numAffectedRows ?? 0n) + Number(slots.numAffectedRows ?? 0n);
}

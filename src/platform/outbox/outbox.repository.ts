import { type ColumnType, type Generated, type Kysely, type RawBuilder, sql } from 'kysely';

/**
 * SQL only. Every time here is the database's `now()`, never a process clock:
 * several processes lease the same rows, so they must agree on one clock, and
 * the business Clock may be moved forward in sandbox mode.
 */

interface OutboxMessagesTable {
  id: Generated<bigint>;
  topic: string;
  key: string | null;
  payload: ColumnType<unknown, RawBuilder<unknown>, never>;
  created_at: Generated<Date>;
  available_at: Generated<Date>;
  attempts: Generated<number>;
  locked_until: Date | null;
  locked_by: string | null;
  last_error: string | null;
  delivered_at: Date | null;
  parked_at: Date | null;
  done_consumers: Generated<string[]>;
  parks: Generated<number>;
}

interface OutboxDatabase {
  outbox_messages: OutboxMessagesTable;
}

/**
 * Any executor the caller holds: the app's Kysely, a transaction, or a module's
 * narrower Kysely<ItsTables>. Typed loosely so modules need not know our tables.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OutboxExecutor = Kysely<any>;

function outboxDb(executor: OutboxExecutor): Kysely<OutboxDatabase> {
  return executor as Kysely<OutboxDatabase>;
}

function msFromNow(ms: number): RawBuilder<Date> {
  return sql<Date>`now() + ${ms}::float8 * interval '1 millisecond'`;
}

const now = sql<Date>`now()`;

/** A message's last error is kept to this many characters. */
export const MAX_ERROR_LENGTH = 2000;

export interface NewOutboxRow {
  topic: string;
  key: string | null;
  /** Already JSON text. */
  payloadJson: string;
}

export async function insertMessages(executor: OutboxExecutor, rows: NewOutboxRow[]): Promise<bigint[]> {
  const inserted = await outboxDb(executor)
    .insertInto('outbox_messages')
    .values(rows.map((row) => ({ topic: row.topic, key: row.key, payload: sql`${row.payloadJson}::jsonb` })))
    .returning('id')
    .execute();
  return inserted.map((row) => row.id);
}

/** What a relay holds after claiming: `attempt` plus `relayId` identify this one lease. */
export interface ClaimedMessage {
  id: bigint;
  topic: string;
  key: string | null;
  payload: unknown;
  createdAt: Date;
  attempt: number;
  doneConsumers: string[];
  /** How often the message was parked before; a broker tells each re-publish after a retry apart by it. */
  parks: number;
}

export interface Lease {
  id: bigint;
  relayId: string;
  attempt: number;
}

/**
 * Leases up to `limit` ready messages to `relayId` in one statement (its own
 * short transaction). SKIP LOCKED lets concurrent relays take disjoint rows;
 * a row whose lease has run out (its relay died) is ready again. A message
 * with a key is ready only once every earlier message of its key was
 * delivered or parked, so one key's messages reach consumers in order even
 * when several processes relay (a failing message holds back the later ones
 * of its key until it is delivered or parked; other keys flow).
 */
export async function claimBatch(
  executor: OutboxExecutor,
  claim: { relayId: string; leaseMs: number; limit: number },
): Promise<ClaimedMessage[]> {
  const result = await sql<{
    id: bigint;
    topic: string;
    key: string | null;
    payload: unknown;
    created_at: Date;
    attempts: number;
    done_consumers: string[];
    parks: number;
  }>`
    with ready as materialized (
      select id from outbox_messages
      where delivered_at is null and parked_at is null
        and available_at <= now()
        and (locked_until is null or locked_until < now())
        and (key is null or not exists (
          select 1 from outbox_messages earlier
          where earlier.key = outbox_messages.key and earlier.id < outbox_messages.id
            and earlier.delivered_at is null and earlier.parked_at is null))
      order by id
      limit ${claim.limit}
      for update skip locked
    )
    update outbox_messages m
    set locked_until = ${msFromNow(claim.leaseMs)}, locked_by = ${claim.relayId}, attempts = m.attempts + 1
    from ready
    where m.id = ready.id
    returning m.id, m.topic, m.key, m.payload, m.created_at, m.attempts, m.done_consumers, m.parks`.execute(executor);
  return result.rows
    .map((row) => ({
      id: row.id,
      topic: row.topic,
      key: row.key,
      payload: row.payload,
      createdAt: row.created_at,
      attempt: row.attempts,
      doneConsumers: row.done_consumers,
      parks: row.parks,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Only the holder of this very lease may settle the message; false means the lease was lost. */
function settle(executor: OutboxExecutor, lease: Lease) {
  return outboxDb(executor)
    .updateTable('outbox_messages')
    .where('id', '=', lease.id)
    .where('locked_by', '=', lease.relayId)
    .where('attempts', '=', lease.attempt)
    .where('delivered_at', 'is', null)
    .where('parked_at', 'is', null);
}

function updatedOne(result: { numUpdatedRows: bigint }): boolean {
  return result.numUpdatedRows === 1n;
}

/** Marks many messages delivered in one statement; answers the ids whose lease was still held. */
export async function markDelivered(executor: OutboxExecutor, leases: Lease[]): Promise<Set<bigint>> {
  if (leases.length === 0) return new Set();
  const { rows } = await sql<{ id: bigint }>`
    update outbox_messages m
    set delivered_at = now(), locked_until = null, locked_by = null
    from (select unnest(${leases.map((lease) => lease.id)}::int8[]) as lease_id,
                 unnest(${leases.map((lease) => lease.attempt)}::int[]) as lease_attempt) held
    where m.id = held.lease_id and m.attempts = held.lease_attempt
      and m.locked_by = ${leases[0]!.relayId} and m.delivered_at is null and m.parked_at is null
    returning m.id`.execute(executor);
  return new Set(rows.map((row) => BigInt(row.id)));
}

export async function reschedule(
  executor: OutboxExecutor,
  lease: Lease,
  retry: { retryInMs: number; error: string; doneConsumers: string[] },
): Promise<boolean> {
  const result = await settle(executor, lease)
    .set({
      available_at: msFromNow(retry.retryInMs),
      last_error: retry.error,
      done_consumers: retry.doneConsumers,
      locked_until: null,
      locked_by: null,
    })
    .executeTakeFirst();
  return updatedOne(result);
}

export async function park(
  executor: OutboxExecutor,
  lease: Lease,
  failure: { error: string; doneConsumers: string[] },
): Promise<boolean> {
  const result = await settle(executor, lease)
    .set({
      parked_at: now,
      parks: sql<number>`parks + 1`,
      last_error: failure.error,
      done_consumers: failure.doneConsumers,
      locked_until: null,
      locked_by: null,
    })
    .executeTakeFirst();
  return updatedOne(result);
}

/** A message a broker delivered, as its consumer gives up on it. */
export interface BrokerParking {
  id: bigint;
  topic: string;
  key: string | null;
  payloadJson: string;
  createdAt: Date;
  attempts: number;
  consumerName: string;
  error: string;
  /** The topic's other consumers, which need not see the message again after a retry. */
  otherConsumers: string[];
}

/**
 * Parks a message that a broker consumer gave up on, in the same row (and so
 * the same admin views and `retryParked`) as the relay's own parking. The row
 * was marked delivered when the broker took it; if it was purged since, it is
 * written again under its id. A second consumer parking the same message only
 * drops itself from the consumers that are done.
 */
export async function parkBrokerMessage(executor: OutboxExecutor, parking: BrokerParking): Promise<void> {
  await sql`
    insert into outbox_messages as m
      (id, topic, key, payload, created_at, attempts, parked_at, parks, last_error, done_consumers)
    overriding system value
    values (${parking.id}, ${parking.topic}, ${parking.key}, ${parking.payloadJson}::jsonb, ${parking.createdAt},
            ${parking.attempts}, now(), 1, ${parking.error}, ${parking.otherConsumers}::text[])
    on conflict (id) do update set
      delivered_at = null, locked_until = null, locked_by = null,
      attempts = excluded.attempts,
      parked_at = coalesce(m.parked_at, now()),
      parks = m.parks + (case when m.parked_at is null then 1 else 0 end),
      last_error = case when m.parked_at is null then excluded.last_error
                        else left(m.last_error || chr(10) || excluded.last_error, ${MAX_ERROR_LENGTH}) end,
      done_consumers = case when m.parked_at is null then excluded.done_consumers
                            else array_remove(m.done_consumers, ${parking.consumerName}) end`.execute(executor);
}

/** Keeps a live relay's leases from running out while a long batch is handled. */
export async function extendLeases(
  executor: OutboxExecutor,
  leases: Lease[],
  leaseMs: number,
): Promise<void> {
  if (leases.length === 0) return;
  const relayId = leases[0]!.relayId;
  await outboxDb(executor)
    .updateTable('outbox_messages')
    .set({ locked_until: msFromNow(leaseMs) })
    .where('id', 'in', leases.map((lease) => lease.id))
    .where('locked_by', '=', relayId)
    .where('delivered_at', 'is', null)
    .where('parked_at', 'is', null)
    .execute();
}

// ---- inspection (admin console, CLI) ----

export interface OutboxStats {
  /** Not yet delivered nor parked, including the in-flight ones. */
  pending: number;
  inFlight: number;
  /** Pending messages that failed at least once. */
  retrying: number;
  delivered: number;
  parked: number;
  /** Age of the oldest pending message; null when nothing is pending. */
  oldestPendingAgeMs: number | null;
}

export async function outboxStats(executor: OutboxExecutor): Promise<OutboxStats> {
  const result = await sql<{
    pending: bigint;
    in_flight: bigint;
    retrying: bigint;
    delivered: bigint;
    parked: bigint;
    oldest_pending_age_ms: number | null;
  }>`
    select
      count(*) filter (where delivered_at is null and parked_at is null) as pending,
      count(*) filter (where delivered_at is null and parked_at is null and locked_until >= now()) as in_flight,
      count(*) filter (where delivered_at is null and parked_at is null and last_error is not null) as retrying,
      count(*) filter (where delivered_at is not null) as delivered,
      count(*) filter (where parked_at is not null) as parked,
      (extract(epoch from now() - min(created_at) filter (where delivered_at is null and parked_at is null))
        * 1000)::float8 as oldest_pending_age_ms
    from outbox_messages`.execute(executor);
  const row = result.rows[0]!;
  return {
    pending: Number(row.pending),
    inFlight: Number(row.in_flight),
    retrying: Number(row.retrying),
    delivered: Number(row.delivered),
    parked: Number(row.parked),
    oldestPendingAgeMs: row.oldest_pending_age_ms === null ? null : Math.max(0, Math.round(row.oldest_pending_age_ms)),
  };
}

export type OutboxMessageStatus = 'PENDING' | 'IN_FLIGHT' | 'DELIVERED' | 'PARKED';

export interface OutboxRecord {
  id: string;
  topic: string;
  key: string | null;
  payload: unknown;
  status: OutboxMessageStatus;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  availableAt: Date;
  lockedUntil: Date | null;
  lockedBy: string | null;
  deliveredAt: Date | null;
  parkedAt: Date | null;
  doneConsumers: string[];
}

function selectRecords(executor: OutboxExecutor) {
  return outboxDb(executor)
    .selectFrom('outbox_messages')
    .selectAll()
    .select(
      sql<OutboxMessageStatus>`case
        when delivered_at is not null then 'DELIVERED'
        when parked_at is not null then 'PARKED'
        when locked_until >= now() then 'IN_FLIGHT'
        else 'PENDING' end`.as('status'),
    );
}

type RecordRow = Awaited<ReturnType<ReturnType<typeof selectRecords>['executeTakeFirstOrThrow']>>;

function toRecord(row: RecordRow): OutboxRecord {
  return {
    id: String(row.id),
    topic: row.topic,
    key: row.key,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    availableAt: row.available_at,
    lockedUntil: row.locked_until,
    lockedBy: row.locked_by,
    deliveredAt: row.delivered_at,
    parkedAt: row.parked_at,
    doneConsumers: row.done_consumers,
  };
}

/** Outbox ids are int8; anything else cannot name a message (and must not reach SQL as a cast error). */
function parseMessageId(id: string): bigint | undefined {
  return /^[1-9]\d{0,18}$/.test(id) ? BigInt(id) : undefined;
}

export async function findOutboxMessage(executor: OutboxExecutor, id: string): Promise<OutboxRecord | undefined> {
  const messageId = parseMessageId(id);
  if (messageId === undefined) return undefined;
  const row = await selectRecords(executor).where('id', '=', messageId).executeTakeFirst();
  return row && toRecord(row);
}

/** Parked messages, oldest first. */
export async function listParked(executor: OutboxExecutor, limit = 100): Promise<OutboxRecord[]> {
  const rows = await selectRecords(executor)
    .where('parked_at', 'is not', null)
    .orderBy('id')
    .limit(Math.max(1, Math.min(limit, 1000)))
    .execute();
  return rows.map(toRecord);
}

/**
 * Puts a parked message back in the queue with a fresh attempt budget.
 * Consumers that already succeeded are still skipped. False when no parked
 * message has this id.
 */
export async function retryParked(executor: OutboxExecutor, id: string): Promise<boolean> {
  const messageId = parseMessageId(id);
  if (messageId === undefined) return false;
  const result = await outboxDb(executor)
    .updateTable('outbox_messages')
    .set({ parked_at: null, attempts: 0, available_at: now, locked_until: null, locked_by: null })
    .where('id', '=', messageId)
    .where('parked_at', 'is not', null)
    .executeTakeFirst();
  return updatedOne(result);
}

/** Deletes delivered messages older than `olderThanMs`; returns how many. */
export async function purgeDelivered(executor: OutboxExecutor, olderThanMs: number): Promise<number> {
  const result = await outboxDb(executor)
    .deleteFrom('outbox_messages')
    .where('delivered_at', '<', msFromNow(-olderThanMs))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

import { type Kysely, sql } from 'kysely';
import type { DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookEventType } from './webhooks.types.ts';

/** SQL only. Every statement runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

// ---- endpoints ---------------------------------------------------------------------------------

const endpointColumns = sql`id, merchant_id as "merchantId", url, created_at as "createdAt"`;

export async function insertEndpoint(db: Executor, endpoint: WebhookEndpoint): Promise<void> {
  await sql`
    insert into webhook_endpoints (id, merchant_id, url, status, created_at)
    values (${endpoint.id}, ${endpoint.merchantId}, ${endpoint.url}, 'ACTIVE', ${endpoint.createdAt})`.execute(db);
}

export async function countActiveEndpoints(db: Executor, merchantId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int4 as n from webhook_endpoints where merchant_id = ${merchantId} and status = 'ACTIVE'`.execute(db);
  return rows[0]!.n;
}

export async function listActiveEndpoints(db: Executor, merchantId: string): Promise<WebhookEndpoint[]> {
  const { rows } = await sql<WebhookEndpoint>`
    select ${endpointColumns} from webhook_endpoints
    where merchant_id = ${merchantId} and status = 'ACTIVE' order by id`.execute(db);
  return rows;
}

export async function findActiveEndpoint(db: Executor, merchantId: string, id: string): Promise<WebhookEndpoint | undefined> {
  const { rows } = await sql<WebhookEndpoint>`
    select ${endpointColumns} from webhook_endpoints
    where id = ${id} and merchant_id = ${merchantId} and status = 'ACTIVE'
    for update`.execute(db);
  return rows[0];
}

/** Deletes the endpoint and cancels what was still to be sent to it; false when it is not (or no longer) there. */
export async function deleteEndpoint(db: Executor, merchantId: string, id: string, now: Date): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    update webhook_endpoints set status = 'DELETED', deleted_at = ${now}
    where id = ${id} and merchant_id = ${merchantId} and status = 'ACTIVE'
    returning id`.execute(db);
  if (rows.length === 0) return false;
  await sql`
    update webhook_deliveries set status = 'CANCELLED', next_attempt_at = null
    where endpoint_id = ${id} and status in ('PENDING', 'DEAD')`.execute(db);
  return true;
}

export async function insertSecret(db: Executor, secret: { id: string; endpointId: string; sealed: string; createdAt: Date }): Promise<void> {
  await sql`
    insert into webhook_endpoint_secrets (id, endpoint_id, secret_sealed, created_at)
    values (${secret.id}, ${secret.endpointId}, ${secret.sealed}, ${secret.createdAt})`.execute(db);
}

/** The current secret starts to expire: it stays live until `expiresAt`. */
export async function expireCurrentSecrets(db: Executor, endpointId: string, expiresAt: Date): Promise<void> {
  await sql`
    update webhook_endpoint_secrets set expires_at = ${expiresAt}
    where endpoint_id = ${endpointId} and expires_at is null`.execute(db);
}

/** The endpoint's live secrets, newest first. */
export async function liveSecrets(db: Executor, endpointId: string, now: Date): Promise<{ id: string; sealed: string }[]> {
  const { rows } = await sql<{ id: string; sealed: string }>`
    select id, secret_sealed as sealed from webhook_endpoint_secrets
    where endpoint_id = ${endpointId} and (expires_at is null or expires_at > ${now})
    order by created_at desc, id desc`.execute(db);
  return rows;
}

// ---- events and deliveries ---------------------------------------------------------------------

/** The event's id when it was inserted; undefined when its source_key was already recorded. */
export async function insertEvent(db: Executor, event: WebhookEvent & { sourceKey: string }): Promise<string | undefined> {
  const { rows } = await sql<{ id: string }>`
    insert into webhook_events (id, merchant_id, type, source_key, body, resource_updated_at, created_at)
    values (${event.id}, ${event.merchantId}, ${event.type}, ${event.sourceKey}, ${event.body}, ${event.resourceUpdatedAt}, ${event.createdAt})
    on conflict (source_key) do nothing
    returning id`.execute(db);
  return rows[0]?.id;
}

export async function findEventBySourceKey(db: Executor, sourceKey: string): Promise<{ id: string } | undefined> {
  const { rows } = await sql<{ id: string }>`select id from webhook_events where source_key = ${sourceKey}`.execute(db);
  return rows[0];
}

export async function insertDeliveries(
  db: Executor,
  rows: { id: string; eventId: string; endpointId: string; merchantId: string; now: Date; giveUpAt: Date }[],
): Promise<number> {
  let inserted = 0;
  for (const row of rows) {
    const result = await sql`
      insert into webhook_deliveries (id, event_id, endpoint_id, merchant_id, status, attempt_count, next_attempt_at, give_up_at, created_at)
      values (${row.id}, ${row.eventId}, ${row.endpointId}, ${row.merchantId}, 'PENDING', 0, ${row.now}, ${row.giveUpAt}, ${row.now})
      on conflict (event_id, endpoint_id) do nothing`.execute(db);
    inserted += Number(result.numAffectedRows ?? 0n);
  }
  return inserted;
}

export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  url: string;
  body: string;
  /** This attempt's number (the claim counted it). */
  attempt: number;
  giveUpAt: Date;
}

/** The end of a lease taken now, on the database's clock (the one clock every process shares). */
function leaseEnd(leaseMs: number) {
  return sql<Date>`now() + ${leaseMs}::float8 * interval '1 millisecond'`;
}

const claimedColumns = sql`d.id, d.endpoint_id as "endpointId", e.url, ev.body, d.attempt_count as attempt, d.give_up_at as "giveUpAt"`;

/**
 * Takes due deliveries for one attempt each: the rows are locked with SKIP
 * LOCKED, so two processes never take the same one, and leased (leased_until),
 * so nobody takes it again while this attempt may still be under way. The
 * attempt number counted here fences the result: only the holder of this
 * attempt may record it. The lease is set and read on the database's clock,
 * so a process whose clock runs ahead cannot cut another's lease short; the
 * schedule (next_attempt_at) stays on the business clock.
 */
export async function claimDue(db: Executor, input: { now: Date; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    with claimed as (
      update webhook_deliveries t
      set attempt_count = t.attempt_count + 1, leased_until = ${leaseEnd(input.leaseMs)}
      where t.id in (
        select id from webhook_deliveries
        where status = 'PENDING' and next_attempt_at <= ${input.now}
          and (leased_until is null or leased_until <= now())
        order by next_attempt_at
        limit ${input.limit}
        for update skip locked)
      and t.status = 'PENDING'
      returning t.*)
    select ${claimedColumns}
    from claimed d join webhook_endpoints e on e.id = d.endpoint_id join webhook_events ev on ev.id = d.event_id`.execute(db);
  return rows;
}

/** Claims one delivery of a merchant now, whatever its schedule (a resend); undefined if an attempt is under way or it cannot be sent. */
export async function claimForResend(
  db: Executor,
  input: { merchantId: string; id: string; leaseMs: number },
): Promise<ClaimedDelivery | undefined> {
  const { rows } = await sql<ClaimedDelivery>`
    with claimed as (
      update webhook_deliveries t
      set attempt_count = t.attempt_count + 1, leased_until = ${leaseEnd(input.leaseMs)},
          status = case when t.status = 'DEAD' then 'PENDING' else t.status end
      where t.id = ${input.id} and t.merchant_id = ${input.merchantId}
        and t.status in ('PENDING', 'DEAD', 'DELIVERED')
        and (t.leased_until is null or t.leased_until <= now())
      returning t.*)
    select ${claimedColumns}
    from claimed d join webhook_endpoints e on e.id = d.endpoint_id join webhook_events ev on ev.id = d.event_id`.execute(db);
  return rows[0];
}

export async function insertAttempt(db: Executor, deliveryId: string, attempt: WebhookAttempt): Promise<void> {
  await sql`
    insert into webhook_attempts (delivery_id, attempt, at, duration_ms, http_status, error, response_body)
    values (${deliveryId}, ${attempt.attempt}, ${attempt.at}, ${attempt.durationMs}, ${attempt.httpStatus}, ${attempt.error}, ${attempt.responseBody})
    on conflict (delivery_id, attempt) do nothing`.execute(db);
}

/**
 * Settles one attempt: only while this attempt is the delivery's latest (the
 * fence). A success makes it DELIVERED (a DELIVERED one stays so); a failure
 * schedules the next attempt, or DEAD — but never undoes a DELIVERED.
 */
export async function finishAttempt(
  db: Executor,
  input: { id: string; attempt: number; outcome: { kind: 'delivered'; at: Date } | { kind: 'retry'; at: Date } | { kind: 'dead' } },
): Promise<boolean> {
  const { id, attempt, outcome } = input;
  const result =
    outcome.kind === 'delivered'
      ? await sql`
          update webhook_deliveries
          set status = 'DELIVERED', delivered_at = coalesce(delivered_at, ${outcome.at}), next_attempt_at = null, leased_until = null
          where id = ${id} and attempt_count = ${attempt} and status in ('PENDING', 'DELIVERED')`.execute(db)
      : await sql`
          update webhook_deliveries
          set status = case when status = 'DELIVERED' then status else ${outcome.kind === 'dead' ? 'DEAD' : 'PENDING'} end,
              next_attempt_at = case when status = 'DELIVERED' then null else ${outcome.kind === 'retry' ? outcome.at : null}::timestamptz end,
              leased_until = null
          where id = ${id} and attempt_count = ${attempt} and status in ('PENDING', 'DELIVERED')`.execute(db);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

// ---- listing -----------------------------------------------------------------------------------

type DeliveryRow = Omit<WebhookDelivery, 'attempts'>;

export async function listDeliveries(
  db: Executor,
  input: { merchantId: string; eventId?: string; status?: DeliveryStatus; deliveryId?: string; startingAfter?: string; limit: number },
): Promise<WebhookDelivery[]> {
  const { rows } = await sql<DeliveryRow>`
    select d.id, d.event_id as "eventId", ev.type as "eventType", d.endpoint_id as "endpointId", d.merchant_id as "merchantId",
      e.url, d.status, d.attempt_count as "attemptCount", d.next_attempt_at as "nextAttemptAt", d.give_up_at as "giveUpAt",
      d.delivered_at as "deliveredAt", d.created_at as "createdAt"
    from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id join webhook_events ev on ev.id = d.event_id
    where d.merchant_id = ${input.merchantId}
      ${input.eventId !== undefined ? sql`and d.event_id = ${input.eventId}` : sql``}
      ${input.status !== undefined ? sql`and d.status = ${input.status}` : sql``}
      ${input.deliveryId !== undefined ? sql`and d.id = ${input.deliveryId}` : sql``}
      ${input.startingAfter !== undefined ? sql`and d.id < ${input.startingAfter}` : sql``}
    order by d.id desc
    limit ${input.limit}`.execute(db);
  if (rows.length === 0) return [];
  const { rows: attempts } = await sql<WebhookAttempt & { deliveryId: string }>`
    select delivery_id as "deliveryId", attempt, at, duration_ms as "durationMs", http_status as "httpStatus", error,
      response_body as "responseBody"
    from webhook_attempts where delivery_id in (${sql.join(rows.map((r) => r.id))})
    order by delivery_id, attempt`.execute(db);
  return rows.map((row) => ({
    ...row,
    attempts: attempts.filter((a) => a.deliveryId === row.id).map(({ deliveryId: _, ...a }) => a),
  }));
}

export type { WebhookEventType };

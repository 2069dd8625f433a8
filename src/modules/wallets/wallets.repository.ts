import { type Kysely, sql } from 'kysely';
import type { BoundCard, DepositoryAccount, RechargeRecord, RecordKind, RecordStatus, WithdrawRecord } from './wallets.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const accountColumns = sql`
  user_id as "userId", user_no as "userNo", status, request_no as "requestNo",
  card_number_masked as "cardNumberMasked", bank_code as "bankCode", opened_at as "openedAt",
  created_at as "createdAt", updated_at as "updatedAt"`;

const cardColumns = sql`
  id, user_id as "userId", card_number_masked as "cardNumberMasked", bank_code as "bankCode",
  request_no as "requestNo", created_at as "createdAt"`;

const rechargeColumns = sql`
  id, user_id as "userId", request_no as "requestNo", amount_minor as "amountMinor", currency, status,
  error_code as "errorCode", created_at as "createdAt", updated_at as "updatedAt"`;

const withdrawColumns = sql`
  id, user_id as "userId", request_no as "requestNo", amount_minor as "amountMinor", fee_minor as "feeMinor",
  currency, card_number_masked as "cardNumberMasked", status, error_code as "errorCode",
  risk_decision_id as "riskDecisionId", risk_level as "riskLevel", sms_challenge_id as "smsChallengeId",
  callback_url as "callbackUrl", created_at as "createdAt", updated_at as "updatedAt"`;

export async function findDepositoryAccount(db: Executor, userId: string): Promise<DepositoryAccount | undefined> {
  const { rows } = await sql<DepositoryAccount>`select ${accountColumns} from depository_accounts where user_id = ${userId}`.execute(db);
  return rows[0];
}

export async function findDepositoryAccountByUserNo(db: Executor, userNo: string): Promise<DepositoryAccount | undefined> {
  const { rows } = await sql<DepositoryAccount>`select ${accountColumns} from depository_accounts where user_no = ${userNo}`.execute(db);
  return rows[0];
}

/**
 * Records a new account-opening request. Returns false when the account is
 * already OPENED (nothing written): opening twice is refused, not repeated.
 */
export async function upsertOpening(db: Executor, row: { userId: string; userNo: string; requestNo: string; now: Date }): Promise<boolean> {
  const result = await sql`
    insert into depository_accounts (user_id, user_no, status, request_no, created_at, updated_at)
    values (${row.userId}, ${row.userNo}, 'OPENING', ${row.requestNo}, ${row.now}, ${row.now})
    on conflict (user_id) do update set request_no = excluded.request_no, updated_at = excluded.updated_at
    where depository_accounts.status = 'OPENING'
    returning user_id`.execute(db);
  return result.rows.length === 1;
}

/** Guarded OPENING -> OPENED; false when it was already open (a redelivered event). */
export async function markOpened(
  db: Executor,
  row: { userNo: string; cardNumberMasked: string | null; bankCode: string | null; now: Date },
): Promise<boolean> {
  const result = await sql`
    update depository_accounts
    set status = 'OPENED', card_number_masked = ${row.cardNumberMasked}, bank_code = ${row.bankCode},
        opened_at = ${row.now}, updated_at = ${row.now}
    where user_no = ${row.userNo} and status = 'OPENING'
    returning user_id`.execute(db);
  return result.rows.length === 1;
}

/**
 * Binds a card once per request number (unique request_no) and once per active
 * (user, card) pair; false when either was already there (a redelivered event).
 */
export async function insertCard(db: Executor, card: BoundCard): Promise<boolean> {
  const { rows } = await sql`
    insert into bound_cards (id, user_id, card_number_masked, bank_code, request_no, created_at)
    values (${card.id}, ${card.userId}, ${card.cardNumberMasked}, ${card.bankCode}, ${card.requestNo}, ${card.createdAt})
    on conflict do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

/** The user's cards that were not removed, oldest first. */
export async function listCards(db: Executor, userId: string): Promise<BoundCard[]> {
  const { rows } = await sql<BoundCard>`
    select ${cardColumns} from bound_cards where user_id = ${userId} and removed_at is null order by created_at, id`.execute(db);
  return rows;
}

/**
 * An active card of this user, row-locked: FOR UPDATE by a removal, FOR SHARE by
 * a withdrawal naming it, so a removal and a new withdrawal of the same card
 * serialise (the removal then sees the withdrawal, or the withdrawal the removal).
 */
export async function lockActiveCard(
  db: Executor,
  where: { userId: string } & ({ id: string } | { cardNumberMasked: string }),
  mode: 'update' | 'share',
): Promise<BoundCard | undefined> {
  const match = 'id' in where ? sql`id = ${where.id}` : sql`card_number_masked = ${where.cardNumberMasked}`;
  const { rows } = await sql<BoundCard>`
    select ${cardColumns} from bound_cards
    where user_id = ${where.userId} and removed_at is null and ${match}
    ${mode === 'update' ? sql`for update` : sql`for share`}`.execute(db);
  return rows[0];
}

/** A withdrawal still in progress (before or at the bank) names this card. */
export async function hasPendingWithdrawTo(db: Executor, userId: string, cardNumberMasked: string): Promise<boolean> {
  const { rows } = await sql`
    select 1 from withdraw_records
    where user_id = ${userId} and card_number_masked = ${cardNumberMasked}
      and status in ('AWAITING_VERIFICATION', 'AWAITING_REVIEW', 'READY', 'PENDING')
    limit 1`.execute(db);
  return rows.length > 0;
}

/** Guarded: false when the card was removed already. */
export async function markCardRemoved(db: Executor, id: string, now: Date): Promise<boolean> {
  const { rows } = await sql`
    update bound_cards set removed_at = ${now} where id = ${id} and removed_at is null returning id`.execute(db);
  return rows.length === 1;
}

export async function insertRecharge(db: Executor, record: RechargeRecord): Promise<void> {
  await sql`
    insert into recharge_records (id, user_id, request_no, amount_minor, currency, status, error_code, created_at, updated_at)
    values (${record.id}, ${record.userId}, ${record.requestNo}, ${record.amountMinor}, ${record.currency},
            ${record.status}, ${record.errorCode}, ${record.createdAt}, ${record.updatedAt})`.execute(db);
}

export async function insertWithdraw(db: Executor, record: WithdrawRecord): Promise<void> {
  await sql`
    insert into withdraw_records (id, user_id, request_no, amount_minor, fee_minor, currency, card_number_masked,
                                  status, error_code, risk_decision_id, risk_level, sms_challenge_id, callback_url,
                                  created_at, updated_at)
    values (${record.id}, ${record.userId}, ${record.requestNo}, ${record.amountMinor}, ${record.feeMinor},
            ${record.currency}, ${record.cardNumberMasked}, ${record.status}, ${record.errorCode},
            ${record.riskDecisionId}, ${record.riskLevel}, ${record.smsChallengeId}, ${record.callbackUrl},
            ${record.createdAt}, ${record.updatedAt})`.execute(db);
}

export async function findUserWithdraw(db: Executor, userId: string, id: string): Promise<WithdrawRecord | undefined> {
  const { rows } = await sql<WithdrawRecord>`
    select ${withdrawColumns} from withdraw_records where id = ${id} and user_id = ${userId}`.execute(db);
  return rows[0];
}

/** The guarded move of one withdrawal between two of its states before (or instead of) the bank. */
export async function moveWithdraw(
  db: Executor,
  requestNo: string,
  from: RecordStatus,
  to: RecordStatus,
  change: { errorCode?: string | null; now: Date },
): Promise<WithdrawRecord | undefined> {
  const { rows } = await sql<WithdrawRecord>`
    update withdraw_records set status = ${to}, error_code = ${change.errorCode ?? null}, updated_at = ${change.now}
    where request_no = ${requestNo} and status = ${from}
    returning ${withdrawColumns}`.execute(db);
  return rows[0];
}

/** Withdrawals nobody took on to the bank (no SMS code, or not continued after review) since `before`. */
export async function unsentWithdrawsBefore(db: Executor, before: Date, limit: number): Promise<WithdrawRecord[]> {
  const { rows } = await sql<WithdrawRecord>`
    select ${withdrawColumns} from withdraw_records
    where status in ('AWAITING_VERIFICATION', 'READY') and updated_at < ${before}
    order by updated_at limit ${limit}`.execute(db);
  return rows;
}

export async function findRecordsByRequestNo(db: Executor, kind: 'recharge', requestNos: string[]): Promise<RechargeRecord[]>;
export async function findRecordsByRequestNo(db: Executor, kind: 'withdraw', requestNos: string[]): Promise<WithdrawRecord[]>;
export async function findRecordsByRequestNo(db: Executor, kind: RecordKind, requestNos: string[]): Promise<(RechargeRecord | WithdrawRecord)[]> {
  if (requestNos.length === 0) return [];
  const query =
    kind === 'recharge'
      ? sql<RechargeRecord>`select ${rechargeColumns} from recharge_records where request_no = any(${requestNos}::text[])`
      : sql<WithdrawRecord>`select ${withdrawColumns} from withdraw_records where request_no = any(${requestNos}::text[])`;
  return (await query.execute(db)).rows;
}

export interface RecordSettlement {
  requestNo: string;
  status: Exclude<RecordStatus, 'PENDING'>;
  errorCode: string | null;
}

/**
 * The guarded transition PENDING -> SUCCEEDED | FAILED for many records in one
 * statement. Answers the request numbers that moved; one missing was no longer
 * PENDING (a replay or a lost race).
 */
export async function settleRecords(db: Executor, kind: RecordKind, settlements: RecordSettlement[], now: Date): Promise<Set<string>> {
  if (settlements.length === 0) return new Set();
  const table = sql.table(kind === 'recharge' ? 'recharge_records' : 'withdraw_records');
  const { rows } = await sql<{ requestNo: string }>`
    update ${table} set status = v.to_status, error_code = v.to_error_code, updated_at = ${now}
    from (
      select unnest(${settlements.map((s) => s.requestNo)}::text[]) as to_request_no,
             unnest(${settlements.map((s) => s.status)}::text[]) as to_status,
             unnest(${settlements.map((s) => s.errorCode)}::text[]) as to_error_code
    ) v
    where request_no = v.to_request_no and status = 'PENDING'
    returning request_no as "requestNo"`.execute(db);
  return new Set(rows.map((row) => row.requestNo));
}

/** A user's records, newest first; `startingAfter` is the id of the last record of the previous page. */
export async function listRecharges(db: Executor, userId: string, limit: number, startingAfter?: string): Promise<RechargeRecord[]> {
  const { rows } = await sql<RechargeRecord>`
    select ${rechargeColumns} from recharge_records
    where user_id = ${userId} ${startingAfter !== undefined ? sql`and id < ${startingAfter}` : sql``}
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

export async function listWithdraws(db: Executor, userId: string, limit: number, startingAfter?: string): Promise<WithdrawRecord[]> {
  const { rows } = await sql<WithdrawRecord>`
    select ${withdrawColumns} from withdraw_records
    where user_id = ${userId} ${startingAfter !== undefined ? sql`and id < ${startingAfter}` : sql``}
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

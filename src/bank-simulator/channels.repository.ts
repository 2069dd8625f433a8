import { sql } from 'kysely';
import type { BankDb, BankTx } from './repository.ts';

type Db = BankDb | BankTx;

export type AttemptStatus = 'SMS_SENT' | 'SUCCESS' | 'FAIL';

export interface AttemptRow {
  channel_code: string;
  attempt_no: string;
  amount_minor: bigint;
  currency: string;
  card_number: string;
  holder_name: string;
  mobile: string;
  bank_code: string;
  status: AttemptStatus;
  error_code: string | null;
  error_message: string | null;
  wrong_codes: number;
  channel_ref: string;
  created_at: Date;
  updated_at: Date;
}

export type NewAttempt = Omit<AttemptRow, 'wrong_codes' | 'created_at' | 'updated_at'>;

export interface AttemptKey {
  channelCode: string;
  attemptNo: string;
}

export interface SmsRow {
  channel_code: string;
  attempt_no: string;
  mobile: string;
  code: string;
  sent_at: Date;
  expires_at: Date;
}

/** False when the channel already has this attempt number (an attempt is never taken twice). */
export async function insertAttempt(db: Db, row: NewAttempt): Promise<boolean> {
  const { rows } = await sql<{ attempt_no: string }>`
    insert into bank_channel_attempts (channel_code, attempt_no, amount_minor, currency, card_number, holder_name, mobile,
      bank_code, status, error_code, error_message, channel_ref)
    values (${row.channel_code}, ${row.attempt_no}, ${row.amount_minor}, ${row.currency}, ${row.card_number}, ${row.holder_name},
      ${row.mobile}, ${row.bank_code}, ${row.status}, ${row.error_code}, ${row.error_message}, ${row.channel_ref})
    on conflict (channel_code, attempt_no) do nothing
    returning attempt_no`.execute(db);
  return rows.length === 1;
}

export async function findAttempt(db: Db, key: AttemptKey): Promise<AttemptRow | undefined> {
  const { rows } = await sql<AttemptRow>`
    select * from bank_channel_attempts where channel_code = ${key.channelCode} and attempt_no = ${key.attemptNo}`.execute(db);
  return rows[0];
}

/** The attempt, locked until the transaction ends: one decision at a time per attempt. */
export async function lockAttempt(tx: BankTx, key: AttemptKey): Promise<AttemptRow | undefined> {
  const { rows } = await sql<AttemptRow>`
    select * from bank_channel_attempts where channel_code = ${key.channelCode} and attempt_no = ${key.attemptNo}
    for update`.execute(tx);
  return rows[0];
}

/** The guarded move out of SMS_SENT; undefined when the attempt was decided already. */
export async function finishAttempt(
  db: Db,
  key: AttemptKey,
  to: 'SUCCESS' | 'FAIL',
  change: { errorCode?: string; errorMessage?: string },
): Promise<AttemptRow | undefined> {
  const { rows } = await sql<AttemptRow>`
    update bank_channel_attempts
    set status = ${to}, error_code = ${change.errorCode ?? null}, error_message = ${change.errorMessage ?? null}, updated_at = now()
    where channel_code = ${key.channelCode} and attempt_no = ${key.attemptNo} and status = 'SMS_SENT'
    returning *`.execute(db);
  return rows[0];
}

/** One more wrong code typed for an attempt still waiting for its code; the count after it. */
export async function countWrongCode(tx: BankTx, key: AttemptKey): Promise<number> {
  const { rows } = await sql<{ wrong_codes: number }>`
    update bank_channel_attempts set wrong_codes = wrong_codes + 1, updated_at = now()
    where channel_code = ${key.channelCode} and attempt_no = ${key.attemptNo} and status = 'SMS_SENT'
    returning wrong_codes`.execute(tx);
  return rows[0]!.wrong_codes;
}

/** A new code for the attempt: it replaces any earlier one, with a fresh count of wrong tries. */
export async function insertSms(tx: BankTx, row: SmsRow): Promise<void> {
  await sql`
    insert into bank_channel_sms (channel_code, attempt_no, mobile, code, sent_at, expires_at)
    values (${row.channel_code}, ${row.attempt_no}, ${row.mobile}, ${row.code}, ${row.sent_at}, ${row.expires_at})`.execute(tx);
  await sql`
    update bank_channel_attempts set wrong_codes = 0, updated_at = now()
    where channel_code = ${row.channel_code} and attempt_no = ${row.attempt_no}`.execute(tx);
}

/** The code that counts for an attempt: the newest one texted. */
export async function latestSms(db: Db, key: AttemptKey): Promise<SmsRow | undefined> {
  const { rows } = await sql<SmsRow>`
    select channel_code, attempt_no, mobile, code, sent_at, expires_at from bank_channel_sms
    where channel_code = ${key.channelCode} and attempt_no = ${key.attemptNo}
    order by id desc limit 1`.execute(db);
  return rows[0];
}

export async function listSms(db: Db, mobile: string | undefined, limit: number): Promise<SmsRow[]> {
  const { rows } = await sql<SmsRow>`
    select channel_code, attempt_no, mobile, code, sent_at, expires_at from bank_channel_sms
    where (${mobile ?? null}::text is null or mobile = ${mobile ?? null})
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

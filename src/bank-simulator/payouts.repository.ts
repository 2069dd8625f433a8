import { sql } from 'kysely';
import type { ChannelPayoutStatus, SandboxPayoutOutcome } from '../protocol/payout-channel.ts';
import type { BankDb, BankTx } from './repository.ts';

type Db = BankDb | BankTx;

export interface PayoutRow {
  platform_no: string;
  payout_id: string;
  amount_minor: bigint;
  currency: string;
  beneficiary_name: string;
  beneficiary_account_no: string;
  beneficiary_bank_code: string;
  notify_url: string;
  request_data: string;
  status: ChannelPayoutStatus;
  outcome: SandboxPayoutOutcome;
  error_code: string | null;
  error_message: string | null;
  channel_ref: string;
  decide_at: Date | null;
  reverse_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** `error_code` on a new payout is a scripted failure's code (sandbox), used when it is decided. */
export type NewPayout = Omit<PayoutRow, 'status' | 'error_message' | 'reverse_at' | 'created_at' | 'updated_at'>;

/** False when the payout id was already used (the order is never taken twice). */
export async function insertPayout(db: Db, row: NewPayout): Promise<boolean> {
  const { rows } = await sql<{ payout_id: string }>`
    insert into bank_payouts (platform_no, payout_id, amount_minor, currency, beneficiary_name, beneficiary_account_no,
      beneficiary_bank_code, notify_url, request_data, status, outcome, error_code, channel_ref, decide_at)
    values (${row.platform_no}, ${row.payout_id}, ${row.amount_minor}, ${row.currency}, ${row.beneficiary_name},
      ${row.beneficiary_account_no}, ${row.beneficiary_bank_code}, ${row.notify_url}, ${row.request_data}, 'PROCESSING',
      ${row.outcome}, ${row.error_code}, ${row.channel_ref}, ${row.decide_at})
    on conflict (platform_no, payout_id) do nothing
    returning payout_id`.execute(db);
  return rows.length === 1;
}

export async function findPayout(db: Db, platformNo: string, payoutId: string): Promise<PayoutRow | undefined> {
  const { rows } = await sql<PayoutRow>`
    select * from bank_payouts where platform_no = ${platformNo} and payout_id = ${payoutId}`.execute(db);
  return rows[0];
}

export async function listPayouts(db: Db, filter: { payoutId?: string | undefined }, limit: number): Promise<PayoutRow[]> {
  const { rows } = await sql<PayoutRow>`
    select * from bank_payouts
    where (${filter.payoutId ?? null}::text is null or payout_id = ${filter.payoutId ?? null})
    order by created_at desc limit ${limit}`.execute(db);
  return rows;
}

/** Payouts whose processing time has come (PROCESSING) or whose reversal is due (SUCCEEDED). */
export async function duePayouts(db: Db, limit: number): Promise<PayoutRow[]> {
  const { rows } = await sql<PayoutRow>`
    (select * from bank_payouts where status = 'PROCESSING' and decide_at <= now() order by decide_at limit ${limit})
    union all
    (select * from bank_payouts where status = 'SUCCEEDED' and reverse_at <= now() order by reverse_at limit ${limit})`.execute(db);
  return rows;
}

/**
 * The guarded transition: moves the payout from `from` to `to` only if it is
 * still in `from`; undefined when another decision won.
 */
export async function movePayout(
  tx: BankTx,
  key: { platformNo: string; payoutId: string },
  from: ChannelPayoutStatus,
  to: ChannelPayoutStatus,
  change: { errorCode?: string | null; errorMessage?: string | null; reverseAt?: Date | null },
): Promise<PayoutRow | undefined> {
  const { rows } = await sql<PayoutRow>`
    update bank_payouts
    set status = ${to}, error_code = ${change.errorCode ?? null}, error_message = ${change.errorMessage ?? null},
        reverse_at = ${change.reverseAt ?? null}, decide_at = null, updated_at = now()
    where platform_no = ${key.platformNo} and payout_id = ${key.payoutId} and status = ${from}
    returning *`.execute(tx);
  return rows[0];
}

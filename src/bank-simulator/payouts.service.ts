/**
 * The bank's payout channel (src/protocol/payout-channel.ts): takes signed
 * payout orders once per payout id, decides each one once (after a processing
 * delay, or when queried for an order that "timed out"), reverses some later,
 * and notifies every final status and reversal with the depository's signed,
 * retried notifications.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { signText } from '../protocol/depository.ts';
import {
  PAYOUT_NOTIFICATION,
  type PayoutOrderData,
  type PayoutResultData,
  type QueryPayoutData,
  sandboxOutcomeOf,
  type SandboxPayoutOutcome,
} from '../protocol/payout-channel.ts';
import { newId } from '../platform/ids.ts';
import { type CurrencyCode, formatMinor } from '../platform/money/money.ts';
import { parseJsonOrUndefined } from '../platform/json.ts';
import type { BankContext } from './context.ts';
import { type Refusal, refused, type SignedBody, type SignedMessage, signedByBank, verifiedPlatformMessage } from './envelope.ts';
import * as payouts from './payouts.repository.ts';
import type { PayoutRow } from './payouts.repository.ts';
import { type BankTx, insertNotification } from './repository.ts';
import { parseOrderAmount, REQUEST_NO } from './validation.ts';

export type ChannelAnswer = { ok: true; body: SignedBody; hangMs?: number } | Refusal;

const DUE_BATCH = 50;
const ACCOUNT_NO = /^[0-9A-Za-z-]{4,34}$/;

/** POST /payouts: takes an order once; the same order again answers where it stands. */
export async function takePayoutOrder(ctx: BankContext, message: SignedMessage): Promise<ChannelAnswer> {
  const verified = verifiedPlatformMessage(ctx, message);
  if ('ok' in verified) return verified;
  const parsed = parseOrder(verified.reqData);
  if (typeof parsed === 'string') return refused(400, 'VALIDATION_FAILED', parsed);
  const { order, currency, amountMinor } = parsed;

  const scripted = ctx.payoutFaults.take();
  const outcome = scripted?.outcome ?? sandboxOutcomeOf(order.beneficiary.accountNo);
  const taken = await payouts.insertPayout(ctx.db, {
    platform_no: ctx.config.platformNo,
    payout_id: order.payoutId,
    amount_minor: amountMinor,
    currency,
    beneficiary_name: order.beneficiary.name,
    beneficiary_account_no: order.beneficiary.accountNo,
    beneficiary_bank_code: order.beneficiary.bankCode,
    notify_url: order.notifyUrl,
    request_data: verified.reqData,
    outcome,
    error_code: scripted?.errorCode ?? null,
    channel_ref: `bp_${randomBytes(9).toString('hex')}`,
    decide_at: outcome === 'timeout' ? null : new Date(Date.now() + ctx.config.payoutDelayMs),
  });
  const row = (await payouts.findPayout(ctx.db, ctx.config.platformNo, order.payoutId))!;
  if (!taken && !sameOrder(row, order, amountMinor, currency)) {
    return refused(409, 'DUPLICATE_PAYOUT', `Payout ${order.payoutId} was ordered before with other details; it is not paid again.`);
  }
  if (taken) ctx.log.info({ payoutId: order.payoutId, outcome }, 'payout order taken');
  // A timing-out order keeps its caller waiting past any sensible time-out, once and on every resend.
  const hangMs = row.status === 'PROCESSING' && row.outcome === 'timeout' ? ctx.config.payoutHangMs : undefined;
  return { ok: true, body: signedByBank(ctx, resultOf(row)), ...(hangMs !== undefined ? { hangMs } : {}) };
}

/** QUERY_PAYOUT: where a payout stands; an order that "timed out" is decided now (it succeeds). */
export async function queryPayout(ctx: BankContext, reqData: string): Promise<ChannelAnswer> {
  const query = parseJsonOrUndefined(reqData) as Partial<QueryPayoutData> | undefined;
  if (typeof query?.payoutId !== 'string' || query.payoutId.length === 0) return refused(400, 'VALIDATION_FAILED', 'reqData must be a JSON object with a string payoutId.');
  let row = await payouts.findPayout(ctx.db, ctx.config.platformNo, query.payoutId);
  if (!row) return { ok: true, body: signedByBank(ctx, { payoutId: query.payoutId, status: 'NOT_FOUND', timestamp: new Date().toISOString() }) };
  if (row.status === 'PROCESSING' && (row.outcome === 'timeout' || (row.decide_at && row.decide_at.getTime() <= Date.now()))) {
    row = (await decide(ctx, row)) ?? (await payouts.findPayout(ctx.db, ctx.config.platformNo, query.payoutId))!;
  }
  return { ok: true, body: signedByBank(ctx, resultOf(row)) };
}

/** Sandbox: a SUCCEEDED payout is returned by the beneficiary's bank now. */
export async function reversePayoutNow(ctx: BankContext, payoutId: string): Promise<PayoutRow | 'not-found' | 'not-succeeded'> {
  const row = await payouts.findPayout(ctx.db, ctx.config.platformNo, payoutId);
  if (!row) return 'not-found';
  if (row.status !== 'SUCCEEDED') return 'not-succeeded';
  return (await reverse(ctx, row)) ?? 'not-succeeded';
}

/** PROCESSING -> SUCCEEDED | FAILED once, with its notification; undefined when another decision won. */
async function decide(ctx: BankContext, row: PayoutRow): Promise<PayoutRow | undefined> {
  const fails = row.outcome === 'fail';
  return moveAndNotify(ctx, row, 'PROCESSING', fails ? 'FAILED' : 'SUCCEEDED', {
    ...(fails ? { errorCode: row.error_code ?? 'ACCOUNT_CLOSED', errorMessage: failureMessage(row.error_code ?? 'ACCOUNT_CLOSED') } : {}),
    reverseAt: row.outcome === 'reverse' ? new Date(Date.now() + ctx.config.payoutReversalMs) : null,
  });
}

function reverse(ctx: BankContext, row: PayoutRow): Promise<PayoutRow | undefined> {
  return moveAndNotify(ctx, row, 'SUCCEEDED', 'REVERSED', {
    errorCode: 'RETURNED_BY_BENEFICIARY_BANK',
    errorMessage: 'The beneficiary’s bank returned the payment.',
  });
}

async function moveAndNotify(
  ctx: BankContext,
  row: PayoutRow,
  from: 'PROCESSING' | 'SUCCEEDED',
  to: 'SUCCEEDED' | 'FAILED' | 'REVERSED',
  change: { errorCode?: string; errorMessage?: string; reverseAt?: Date | null },
): Promise<PayoutRow | undefined> {
  const moved = await ctx.db.transaction().execute(async (tx) => {
    const updated = await payouts.movePayout(tx, { platformNo: row.platform_no, payoutId: row.payout_id }, from, to, change);
    if (updated) await notify(ctx, tx, updated);
    return updated;
  });
  if (moved) {
    ctx.log.info({ payoutId: row.payout_id, status: to, errorCode: change.errorCode }, 'payout decided');
    ctx.sender.poke();
  }
  return moved;
}

async function notify(ctx: BankContext, tx: BankTx, row: PayoutRow): Promise<void> {
  const reqData = JSON.stringify(resultOf(row));
  await insertNotification(tx, {
    id: newId('ntf'),
    platform_no: row.platform_no,
    request_no: row.payout_id,
    service_name: PAYOUT_NOTIFICATION,
    status: row.status as 'SUCCEEDED' | 'FAILED' | 'REVERSED',
    notify_url: row.notify_url,
    req_data: reqData,
    signature: signText(reqData, ctx.bankPrivateKey),
    firstDelayMs: ctx.sender.delayBeforeAttemptMs(0) ?? 0,
  });
}

export function resultOf(row: PayoutRow): PayoutResultData {
  const final = row.status === 'FAILED' || row.status === 'REVERSED';
  return {
    payoutId: row.payout_id,
    status: row.status,
    amount: formatMinor(row.amount_minor, row.currency as CurrencyCode),
    currency: row.currency,
    channelRef: row.channel_ref,
    ...(final && row.error_code ? { errorCode: row.error_code } : {}),
    ...(final && row.error_message ? { errorMessage: row.error_message } : {}),
    timestamp: new Date().toISOString(),
  };
}

function failureMessage(code: string): string {
  return code === 'ACCOUNT_CLOSED' ? 'The beneficiary account is closed.' : `The beneficiary's bank refused the payment (${code}).`;
}

function sameOrder(row: PayoutRow, order: PayoutOrderData, amountMinor: bigint, currency: string): boolean {
  return (
    row.amount_minor === amountMinor &&
    row.currency === currency &&
    row.beneficiary_name === order.beneficiary.name &&
    row.beneficiary_account_no === order.beneficiary.accountNo &&
    row.beneficiary_bank_code === order.beneficiary.bankCode
  );
}


function parseOrder(reqData: string): { order: PayoutOrderData; currency: CurrencyCode; amountMinor: bigint } | string {
  const data = parseJsonOrUndefined(reqData) as Partial<PayoutOrderData> | undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'reqData must be a JSON object';
  if (typeof data.payoutId !== 'string' || !REQUEST_NO.test(data.payoutId)) return 'reqData.payoutId must be 1-64 letters, digits or _.:-';
  const amount = parseOrderAmount(data);
  if (typeof amount === 'string') return amount;
  const b = data.beneficiary;
  if (typeof b !== 'object' || b === null) return 'reqData.beneficiary is required';
  if (typeof b.name !== 'string' || b.name.trim().length === 0 || b.name.length > 128) return 'reqData.beneficiary.name must be 1-128 characters';
  if (typeof b.accountNo !== 'string' || !ACCOUNT_NO.test(b.accountNo)) return 'reqData.beneficiary.accountNo must be 4-34 letters, digits or -';
  if (typeof b.bankCode !== 'string' || b.bankCode.length === 0 || b.bankCode.length > 32) return 'reqData.beneficiary.bankCode must be 1-32 characters';
  if (typeof data.notifyUrl !== 'string' || !/^https?:\/\//.test(data.notifyUrl)) return 'reqData.notifyUrl must be an http(s) URL';
  if (typeof data.timestamp !== 'string') return 'reqData.timestamp is required';
  return { order: data as PayoutOrderData, ...amount };
}

/** Sandbox: what the next payout orders do, whatever their beneficiary (POST /sandbox/payout-faults). */
export class PayoutFaults {
  private next: { outcome: SandboxPayoutOutcome; errorCode?: string }[] = [];

  set(outcomes: unknown): void {
    if (!Array.isArray(outcomes) || outcomes.length > 1000) throw new Error('nextOutcomes must be a list of at most 1000 outcomes');
    this.next = outcomes.map((entry: unknown, i) => {
      const { outcome, errorCode } = (entry ?? {}) as { outcome?: unknown; errorCode?: unknown };
      if (outcome !== 'succeed' && outcome !== 'fail' && outcome !== 'timeout' && outcome !== 'reverse') {
        throw new Error(`nextOutcomes[${i}].outcome must be succeed, fail, timeout or reverse`);
      }
      if (errorCode !== undefined && (typeof errorCode !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(errorCode) || outcome !== 'fail')) {
        throw new Error(`nextOutcomes[${i}].errorCode must be an UPPER_CASE code, and only with outcome fail`);
      }
      return { outcome, ...(errorCode !== undefined ? { errorCode: errorCode as string } : {}) };
    });
  }

  take(): { outcome: SandboxPayoutOutcome; errorCode?: string } | undefined {
    return this.next.shift();
  }

  view(): { nextOutcomes: { outcome: SandboxPayoutOutcome; errorCode?: string }[] } {
    return { nextOutcomes: [...this.next] };
  }
}

/** Decides payouts whose processing time has come and reverses those due, every BANK_PAYOUT_POLL_MS. */
export class PayoutProcessor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ctx: BankContext,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .catch((err: unknown) => this.log.error({ err }, 'payout processing failed; will retry'))
        .finally(() => (this.running = undefined));
    }, this.ctx.config.payoutPollMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async runOnce(): Promise<void> {
    for (const row of await payouts.duePayouts(this.ctx.db, DUE_BATCH)) {
      await (row.status === 'PROCESSING' ? decide(this.ctx, row) : reverse(this.ctx, row));
    }
  }
}

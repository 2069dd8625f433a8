/**
 * The simulated card payment channels (src/protocol/payment-channel.ts), each
 * as if from its own provider: quick pay texts its own 6-digit code
 * (SEND_SMS) and debits when the code comes back (CONFIRM); direct debit
 * debits at once (DEBIT). One attempt per (channel, attemptNo): asked again,
 * it answers where the attempt stands and never debits twice.
 *
 * Codes: the newest code texted for an attempt counts; it expires after
 * BANK_CHANNEL_SMS_TTL_MS (5 min). A wrong code answers FAIL SMS_CODE_INVALID
 * but leaves the attempt open (QUERY: PROCESSING) so the user may type again;
 * the third wrong code fails the attempt for good. A CONFIRM after expiry fails
 * it with SMS_CODE_EXPIRED, and so does a QUERY of an expired unconfirmed one.
 *
 * Sandbox modes (channels.sandbox.ts) apply after the signature and the
 * request were checked: DOWN answers 503 with nothing stored; SLOW and TIMEOUT
 * do the work at once and hold only the answer, so a QUERY always tells the truth.
 * A card is debited or declined by its number (sandboxCardOutcome); the
 * channels do not touch the bank's card balances.
 */
import { randomBytes, randomInt } from 'node:crypto';
import {
  type ChannelCard,
  type ChannelOperation,
  type ChannelPaymentResult,
  type ConfirmData,
  type DebitData,
  type QueryData,
  sandboxCardOutcome,
  type SendSmsData,
  type SendSmsResultData,
  type SimulatedChannelCode,
} from '../protocol/payment-channel.ts';
import { type CurrencyCode, formatMinor } from '../platform/money/money.ts';
import { parseJsonOrUndefined } from '../platform/json.ts';
import * as attempts from './channels.repository.ts';
import type { AttemptKey, AttemptRow, NewAttempt } from './channels.repository.ts';
import { type ChannelMode, type ChannelState, findChannel } from './channels.sandbox.ts';
import type { BankContext } from './context.ts';
import { type Refusal, refused, type SignedBody, type SignedMessage, signedByBank, verifiedPlatformMessage } from './envelope.ts';
import { CARD_NUMBER, MOBILE, parseOrderAmount, REQUEST_NO } from './validation.ts';

export const MAX_WRONG_CODES = 3;
const SMS_CODE = /^\d{1,16}$/;

/** A signed answer (HTTP 200, or 503 from a DOWN channel), held back `holdMs` when the channel is slow or timing out. */
export type ChannelReply = { ok: true; httpStatus: 200 | 503; body: SignedBody; holdMs?: number } | Refusal;

type Failure = { errorCode: string; errorMessage: string };

const OPERATIONS_BY_KIND = {
  QUICK_PAY: ['SEND_SMS', 'CONFIRM', 'QUERY'],
  DIRECT_DEBIT: ['DEBIT', 'QUERY'],
} as const satisfies Record<string, readonly ChannelOperation[]>;

/** A channel-side failure may be tried on another channel; a card-side one may not. */
const RETRYABLE = new Set(['CHANNEL_UNAVAILABLE', 'CHANNEL_BUSY', 'SMS_SEND_FAILED']);

/** POST /channels/{code}/{operation}: the signature first, then the channel, the operation and its data. */
export async function answerChannelCall(ctx: BankContext, code: string, operation: string, message: SignedMessage): Promise<ChannelReply> {
  const verified = verifiedPlatformMessage(ctx, message);
  if ('ok' in verified) return verified;
  const channel = findChannel(code);
  if (!channel) return refused(404, 'UNKNOWN_CHANNEL', `There is no channel ${code}.`);
  const offered: readonly string[] = OPERATIONS_BY_KIND[channel.kind];
  if (!offered.includes(operation)) {
    return refused(404, 'UNSUPPORTED_OPERATION', `Channel ${code} (${channel.kind}) offers ${offered.join(', ')}, not ${operation}.`);
  }
  const request = parseRequest(operation as ChannelOperation, verified.reqData);
  if (typeof request === 'string') return refused(400, 'VALIDATION_FAILED', request);

  const state = ctx.channels.state(channel.code);
  if (state.mode === 'DOWN') return { ok: true, httpStatus: 503, body: signedByBank(ctx, unavailable(request)) };
  const answer = await perform(ctx, channel.code, state.mode, request);
  if (!('attemptNo' in answer)) return answer;
  return { ok: true, httpStatus: 200, body: signedByBank(ctx, answer), ...holding(ctx, state, request.operation) };
}

type ChannelRequest =
  | { operation: 'SEND_SMS'; data: SendSmsData; amount: { currency: CurrencyCode; amountMinor: bigint } }
  | { operation: 'DEBIT'; data: DebitData; amount: { currency: CurrencyCode; amountMinor: bigint } }
  | { operation: 'CONFIRM'; data: ConfirmData }
  | { operation: 'QUERY'; data: QueryData };

async function perform(ctx: BankContext, channelCode: SimulatedChannelCode, mode: ChannelMode, request: ChannelRequest) {
  switch (request.operation) {
    case 'SEND_SMS':
      return sendSms(ctx, channelCode, request.data, request.amount);
    case 'CONFIRM':
      return confirm(ctx, { channelCode, attemptNo: request.data.attemptNo }, request.data.smsCode, mode);
    case 'DEBIT':
      return debit(ctx, channelCode, request.data, request.amount, mode);
    case 'QUERY':
      return query(ctx, { channelCode, attemptNo: request.data.attemptNo });
  }
}

/** SLOW holds every answer; TIMEOUT holds the answer to a debit (CONFIRM, DEBIT), long past any sensible time-out. */
function holding(ctx: BankContext, state: ChannelState, operation: ChannelOperation): { holdMs?: number } {
  if (state.mode === 'SLOW') return { holdMs: state.slowMs };
  if (state.mode === 'TIMEOUT' && (operation === 'CONFIRM' || operation === 'DEBIT')) return { holdMs: ctx.config.channelHangMs };
  return {};
}

/** A down channel stores nothing; to a QUERY it cannot say where an attempt stands, so it never claims a failure. */
function unavailable(request: ChannelRequest): SendSmsResultData | ChannelPaymentResult {
  const { attemptNo } = request.data;
  const failure = { errorCode: 'CHANNEL_UNAVAILABLE', errorMessage: 'The channel is unavailable; nothing was done.' };
  const timestamp = new Date().toISOString();
  if (request.operation === 'SEND_SMS') return { attemptNo, status: 'FAILED', ...failure, retryable: true, timestamp };
  if (request.operation === 'QUERY') return { attemptNo, status: 'PROCESSING', ...failure, timestamp };
  return { attemptNo, status: 'FAIL', ...failure, retryable: true, timestamp };
}

async function sendSms(
  ctx: BankContext,
  channelCode: SimulatedChannelCode,
  data: SendSmsData,
  amount: { currency: CurrencyCode; amountMinor: bigint },
): Promise<SendSmsResultData | Refusal> {
  const timestamp = new Date().toISOString();
  if (ctx.channels.state(channelCode).smsFailing) {
    return { attemptNo: data.attemptNo, status: 'FAILED', errorCode: 'SMS_SEND_FAILED', errorMessage: 'The channel could not send the SMS.', retryable: true, timestamp };
  }
  const key = { channelCode, attemptNo: data.attemptNo };
  const outcome = await ctx.db.transaction().execute(async (tx) => {
    const candidate = newAttempt(channelCode, data, amount, 'SMS_SENT');
    await attempts.insertAttempt(tx, candidate);
    const row = (await attempts.lockAttempt(tx, key))!;
    if (!sameContent(row, candidate)) return 'conflict' as const;
    if (row.status !== 'SMS_SENT') return row;
    const sentAt = new Date();
    await attempts.insertSms(tx, {
      channel_code: channelCode,
      attempt_no: data.attemptNo,
      mobile: row.mobile,
      code: String(randomInt(0, 1_000_000)).padStart(6, '0'),
      sent_at: sentAt,
      expires_at: new Date(sentAt.getTime() + ctx.config.channelSmsTtlMs),
    });
    return 'sent' as const;
  });
  if (outcome === 'conflict') return conflict(key);
  if (outcome !== 'sent') {
    return { attemptNo: data.attemptNo, status: 'FAILED', errorCode: 'ATTEMPT_FINISHED', errorMessage: `The attempt is ${outcome.status} already; QUERY it.`, retryable: false, timestamp };
  }
  ctx.log.info({ channel: channelCode, attemptNo: data.attemptNo }, 'channel SMS code sent');
  return { attemptNo: data.attemptNo, status: 'SMS_SENT', timestamp };
}

async function confirm(ctx: BankContext, key: AttemptKey, smsCode: string, mode: ChannelMode): Promise<ChannelPaymentResult> {
  const { row, failure } = await ctx.db.transaction().execute(async (tx) => {
    const locked = await attempts.lockAttempt(tx, key);
    if (!locked || locked.status !== 'SMS_SENT') return { row: locked };
    const sms = await attempts.latestSms(tx, key);
    if (!sms || sms.expires_at.getTime() <= Date.now()) {
      return { row: await attempts.finishAttempt(tx, key, 'FAIL', { errorCode: 'SMS_CODE_EXPIRED', errorMessage: 'The SMS code has expired.' }) };
    }
    if (sms.code !== smsCode) {
      const wrong = await attempts.countWrongCode(tx, key);
      if (wrong >= MAX_WRONG_CODES) {
        return { row: await attempts.finishAttempt(tx, key, 'FAIL', { errorCode: 'SMS_CODE_INVALID', errorMessage: 'Too many wrong SMS codes; the payment failed.' }) };
      }
      const left = MAX_WRONG_CODES - wrong;
      return { row: locked, failure: { errorCode: 'SMS_CODE_INVALID', errorMessage: `The SMS code is wrong; ${left} ${left === 1 ? 'try' : 'tries'} left.` } };
    }
    const declined = debitFailure(locked.card_number, mode);
    return { row: await attempts.finishAttempt(tx, key, declined ? 'FAIL' : 'SUCCESS', declined ?? {}) };
  });
  if (!row) return notFound(key.attemptNo);
  // A wrong code with tries left: this CONFIRM failed, the attempt stays open for another code.
  if (failure) return { attemptNo: key.attemptNo, status: 'FAIL', ...failure, retryable: false, timestamp: new Date().toISOString() };
  logDecision(ctx, row);
  return resultOf(row);
}

async function debit(
  ctx: BankContext,
  channelCode: SimulatedChannelCode,
  data: DebitData,
  amount: { currency: CurrencyCode; amountMinor: bigint },
  mode: ChannelMode,
): Promise<ChannelPaymentResult | Refusal> {
  const declined = debitFailure(data.card.number, mode);
  const candidate = newAttempt(channelCode, data, amount, declined ? 'FAIL' : 'SUCCESS', declined);
  const taken = await attempts.insertAttempt(ctx.db, candidate);
  const key = { channelCode, attemptNo: data.attemptNo };
  const row = (await attempts.findAttempt(ctx.db, key))!;
  if (!taken && !sameContent(row, candidate)) return conflict(key);
  if (taken) logDecision(ctx, row);
  return resultOf(row);
}

async function query(ctx: BankContext, key: AttemptKey): Promise<ChannelPaymentResult> {
  const row = await attempts.findAttempt(ctx.db, key);
  if (!row) return notFound(key.attemptNo);
  if (row.status === 'SMS_SENT') {
    const sms = await attempts.latestSms(ctx.db, key);
    if (!sms || sms.expires_at.getTime() <= Date.now()) {
      const expired = await attempts.finishAttempt(ctx.db, key, 'FAIL', { errorCode: 'SMS_CODE_EXPIRED', errorMessage: 'The SMS code expired unconfirmed.' });
      return resultOf(expired ?? (await attempts.findAttempt(ctx.db, key))!);
    }
  }
  return resultOf(row);
}

/** Why this card is not debited now, or undefined when it is. */
function debitFailure(cardNumber: string, mode: ChannelMode): Failure | undefined {
  if (mode === 'DECLINE') return { errorCode: 'CARD_DECLINED', errorMessage: 'The channel declined the card.' };
  switch (sandboxCardOutcome(cardNumber)) {
    case 'insufficient-funds':
      return { errorCode: 'INSUFFICIENT_FUNDS', errorMessage: 'The card has insufficient funds.' };
    case 'declined':
      return { errorCode: 'CARD_DECLINED', errorMessage: 'The card was declined (reported stolen).' };
    case 'debit':
      return undefined;
  }
}

function newAttempt(
  channelCode: string,
  data: SendSmsData | DebitData,
  amount: { currency: CurrencyCode; amountMinor: bigint },
  status: attempts.AttemptStatus,
  failure?: Failure,
): NewAttempt {
  return {
    channel_code: channelCode,
    attempt_no: data.attemptNo,
    amount_minor: amount.amountMinor,
    currency: amount.currency,
    card_number: data.card.number,
    holder_name: data.card.holderName,
    mobile: data.card.mobile,
    bank_code: data.card.bankCode,
    status,
    error_code: failure?.errorCode ?? null,
    error_message: failure?.errorMessage ?? null,
    channel_ref: `ch_${randomBytes(9).toString('hex')}`,
  };
}

function sameContent(row: AttemptRow, candidate: NewAttempt): boolean {
  return (
    row.amount_minor === candidate.amount_minor &&
    row.currency === candidate.currency &&
    row.card_number === candidate.card_number &&
    row.holder_name === candidate.holder_name &&
    row.mobile === candidate.mobile &&
    row.bank_code === candidate.bank_code
  );
}

function conflict(key: AttemptKey): Refusal {
  return refused(409, 'ATTEMPT_CONFLICT', `Attempt ${key.attemptNo} at ${key.channelCode} was made before with other details; it is not made again.`);
}

function notFound(attemptNo: string): ChannelPaymentResult {
  return { attemptNo, status: 'NOT_FOUND', timestamp: new Date().toISOString() };
}

function logDecision(ctx: BankContext, row: AttemptRow): void {
  ctx.log.info({ channel: row.channel_code, attemptNo: row.attempt_no, status: row.status, errorCode: row.error_code ?? undefined }, 'channel attempt decided');
}

export function resultOf(row: AttemptRow): ChannelPaymentResult {
  const failed = row.status === 'FAIL';
  return {
    attemptNo: row.attempt_no,
    status: row.status === 'SMS_SENT' ? 'PROCESSING' : row.status,
    amount: formatMinor(row.amount_minor, row.currency as CurrencyCode),
    currency: row.currency,
    ...(row.status === 'SUCCESS' ? { channelRef: row.channel_ref } : {}),
    ...(failed && row.error_code ? { errorCode: row.error_code, retryable: RETRYABLE.has(row.error_code) } : {}),
    ...(failed && row.error_message ? { errorMessage: row.error_message } : {}),
    timestamp: new Date().toISOString(),
  };
}

// ---- reqData, checked after its signature

function parseRequest(operation: ChannelOperation, reqData: string): ChannelRequest | string {
  const data = parseJsonOrUndefined(reqData) as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'reqData must be a JSON object';
  if (typeof data.attemptNo !== 'string' || !REQUEST_NO.test(data.attemptNo)) return 'reqData.attemptNo must be 1-64 letters, digits or _.:-';
  if (typeof data.timestamp !== 'string') return 'reqData.timestamp is required';
  if (operation === 'CONFIRM') {
    if (typeof data.smsCode !== 'string' || !SMS_CODE.test(data.smsCode)) return 'reqData.smsCode must be the digits the user typed';
    return { operation, data: data as unknown as ConfirmData };
  }
  if (operation === 'QUERY') return { operation, data: data as unknown as QueryData };
  const amount = parseOrderAmount(data);
  if (typeof amount === 'string') return amount;
  const cardProblem = checkCard(data.card);
  if (cardProblem) return cardProblem;
  return operation === 'SEND_SMS'
    ? { operation, data: data as unknown as SendSmsData, amount }
    : { operation, data: data as unknown as DebitData, amount };
}

function checkCard(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'reqData.card is required';
  const card = value as Partial<Record<keyof ChannelCard, unknown>>;
  if (typeof card.number !== 'string' || !CARD_NUMBER.test(card.number)) return 'reqData.card.number must be 12 to 19 digits';
  if (typeof card.holderName !== 'string' || card.holderName.trim().length === 0 || card.holderName.length > 128) return 'reqData.card.holderName must be 1-128 characters';
  if (typeof card.mobile !== 'string' || !MOBILE.test(card.mobile)) return 'reqData.card.mobile must be 6 to 15 digits';
  if (typeof card.bankCode !== 'string' || card.bankCode.length === 0 || card.bankCode.length > 32) return 'reqData.card.bankCode must be 1-32 characters';
  return undefined;
}

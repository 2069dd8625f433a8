/**
 * The confirm chain (seed 004, SPEC 8), one step after the other, each with
 * its compensation:
 *
 * 1. idempotency: a finished order answers its final state; an order another
 *    confirm holds answers DOING; the claim itself is a guarded update
 *    SMS_SENT -> CONFIRMING (with a lease), so of two concurrent confirms only
 *    one reaches a channel.                    compensation: step back
 * 2. (direct debit) Coffer's own SMS code is verified.
 *                                              compensation: step back to SMS_SENT
 * 3. the coupon is locked (AVAILABLE -> LOCKED for this order).
 *                                              compensation: step back to CREATED without it
 * 4. the channel call: quick pay CONFIRMs at the channel that sent the SMS;
 *    direct debit routes a direct-debit channel and DEBITs (a retryable
 *    failure tries the next one; no answer is queried, never sent elsewhere).
 *    The attempt row is written before each call.
 *                                              compensation: coupon released, FAIL
 * 5. success: the ledger transfers (ids derived from the pay order: once,
 *    however often this runs), then in one transaction the final status, the
 *    coupon consumed and PAYMENT_FINAL.        failure: coupon released + FAIL + PAYMENT_FINAL, one transaction
 *
 * A crash anywhere leaves the order CONFIRMING (or UNKNOWN_OUTCOME) with a
 * lease; `recoverDue` claims those past their lease, queries the channel and
 * finishes them (a SUCCESS whose accounting did not happen is accounted then,
 * exactly once by the transfer ids).
 */
import type { Clock } from '../../platform/clock.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { formatMinor } from '../../platform/money/index.ts';
import { publish } from '../../platform/outbox/index.ts';
import type { ChannelPaymentResult } from '../../protocol/payment-channel.ts';
import type { AccountId, LedgerService, TransferRequest } from '../ledger/index.ts';
import type { SmsService } from '../sms/index.ts';
import type { ChannelCallOutcome, ChannelConnector } from './payments.connector.ts';
import type { ChannelRouter, Decided } from './payments.channels.ts';
import type { Sealer } from './payments.cards.ts';
import * as repo from './payments.repository.ts';
import { paymentView } from './payments.views.ts';
import { assertTransition, type Attempt, PAYMENT_FINAL, type Payment, type PaymentFinalEvent } from './payments.types.ts';
import { crashPoint } from '../../platform/faults.ts';

export const SMS_PURPOSE = 'PAYMENT';

/** Ledger ids derived from the pay order number: the same accounting twice moves money once. */
export const paymentTransferIds = {
  payable: (payOrderNo: string) => `payment:${payOrderNo}:payable`,
  discount: (payOrderNo: string) => `payment:${payOrderNo}:discount`,
};

/** Channel error codes about the code the user typed: the order goes on (the user types again, or asks for a new code). */
const CODE_ERRORS = new Set(['SMS_CODE_INVALID', 'SMS_CODE_EXPIRED']);

export interface ConfirmDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerService, 'linkedTransfers' | 'platformAccountId'>;
  sms: Pick<SmsService, 'verifyCode'>;
  connector: ChannelConnector;
  router: ChannelRouter;
  cards: Sealer;
  options: { confirmLeaseMs: number; queryRetryMs: number; couponLockTtlMs: number };
  /** Called after a final status commits (wakes the outbox relay). */
  onFinal?: () => void;
}

type CallResult =
  | { kind: 'success'; attemptNo: string; channelCode: string; channelRef: string | null }
  | { kind: 'fail'; errorCode: string; errorMessage: string | null; channelCode: string | null; retryable: boolean }
  | { kind: 'unknown'; channelCode: string };

export class ConfirmChain {
  constructor(private readonly deps: ConfirmDeps) {}

  /** Steps 1-5 for the user's confirm; answers the order as it then stands. */
  async confirm(order: Payment, smsCode: string): Promise<Payment> {
    const { db, clock, options } = this.deps;
    // 1. idempotency: finished, or another confirm (or the query job) holds it.
    if (order.status !== 'DOING' || order.step === 'CONFIRMING' || order.step === 'UNKNOWN_OUTCOME') return order;
    if (order.expiresAt <= clock.now()) return this.fail(order, ['CREATED', 'SMS_SENT'], 'PAYMENT_EXPIRED', 'The payment expired before it was confirmed');
    if (order.step !== 'SMS_SENT') throw new DomainError('PAYMENT_SMS_NOT_SENT', 'Send the SMS code first (POST .../sms)');
    const now = clock.now();
    const claimed = await repo.updateOrder(db, order.payOrderNo, ['SMS_SENT'], { step: 'CONFIRMING', leaseUntil: new Date(now.getTime() + options.confirmLeaseMs) }, now);
    if (!claimed) return (await repo.findPayment(db, order.payOrderNo))!;
    crashPoint('payments.after-confirm-claim');

    // 2. Coffer's own code (direct debit); the quick-pay channel checks its own at step 4.
    if (claimed.method === 'DIRECT_DEBIT') {
      try {
        await this.deps.sms.verifyCode(claimed.smsChallengeId ?? '', smsCode, { purpose: SMS_PURPOSE, subjectId: claimed.payOrderNo });
      } catch (err) {
        await this.stepBack(claimed, 'SMS_SENT');
        throw err;
      }
    }
    // 3. the coupon.
    if (claimed.couponId && !(await this.lockCoupon(claimed))) {
      await this.stepBack(claimed, 'CREATED', { couponId: null, discountMinor: 0n, payableMinor: claimed.amountMinor, smsAttemptNo: null, smsChallengeId: null });
      throw new DomainError('COUPON_NOT_AVAILABLE', 'The coupon is used, locked by another payment or expired: send the SMS again with another coupon or none');
    }
    // 4. the channel; 5. the outcome.
    let result: CallResult;
    try {
      result = claimed.method === 'QUICK_PAY' ? await this.confirmAtChannel(claimed, smsCode) : await this.debit(claimed);
    } catch (err) {
      if (isDomainError(err)) throw err;
      // Something broke mid-call (the database, say): the lease runs out and recovery settles it.
      this.deps.logger.error({ err, payOrderNo: claimed.payOrderNo }, 'confirm chain broke off; recovery will settle the payment');
      throw err;
    }
    crashPoint('payments.after-channel-answer');
    return this.apply(claimed, result);
  }

  private async lockCoupon(order: Payment): Promise<boolean> {
    const now = this.deps.clock.now();
    return repo.lockCoupon(this.deps.db, order.couponId!, order.userId, order.payOrderNo, new Date(now.getTime() + this.deps.options.couponLockTtlMs), now);
  }

  /** Compensation before any channel call: the order goes back to a step the user can go on from, its coupon free. */
  private async stepBack(order: Payment, step: 'SMS_SENT' | 'CREATED', change: repo.OrderChange = {}): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      if (order.couponId) await repo.releaseCoupon(trx, order.couponId, order.payOrderNo, now);
      await repo.updateOrder(trx, order.payOrderNo, ['CONFIRMING', 'UNKNOWN_OUTCOME'], { ...change, step, leaseUntil: null }, now);
    });
  }

  /** Quick pay: CONFIRM under the attempt whose SMS the channel sent (the attempt row moves to CALLING first). */
  private async confirmAtChannel(order: Payment, smsCode: string): Promise<CallResult> {
    const { db, clock, connector, router } = this.deps;
    const attemptNo = order.smsAttemptNo!;
    const channelCode = order.channelCode!;
    await repo.updateAttempt(db, attemptNo, ['SMS_SENT'], { status: 'CALLING', operation: 'CONFIRM' }, clock.now());
    const outcome = await connector.confirm(channelCode, { attemptNo, smsCode });
    const result = await this.record(attemptNo, channelCode, outcome);
    if (result.kind === 'fail' && CODE_ERRORS.has(result.errorCode)) return this.wrongCode(order, result.errorCode);
    if (result.kind === 'fail' && result.retryable) {
      // The code belongs to this channel's attempt: a new SMS (routed again) is the way on.
      await router.failed(channelCode);
      await this.stepBack(order, 'CREATED', { smsAttemptNo: null, channelCode: null });
      throw new DomainError('PAYMENT_CHANNEL_UNAVAILABLE', `${channelCode} could not take the payment now: send the SMS again`);
    }
    await this.circuit(channelCode, result);
    return result;
  }

  /**
   * The quick-pay channel refused the code. While its attempt is still open
   * (QUERY: PROCESSING) the user may type again; once the channel closed it
   * (too many wrong codes, or expired) a new SMS is needed. Nothing moved.
   */
  private async wrongCode(order: Payment, errorCode: string): Promise<never> {
    const { db, clock, connector } = this.deps;
    const attemptNo = order.smsAttemptNo!;
    const status = await connector.query(order.channelCode!, attemptNo);
    if (status.kind === 'answered' && status.data.status === 'PROCESSING') {
      await repo.updateAttempt(db, attemptNo, ['FAILED'], { status: 'SMS_SENT' }, clock.now());
      await this.stepBack(order, 'SMS_SENT');
      throw new DomainError('SMS_CODE_INVALID', 'The SMS code is wrong: type it again');
    }
    await this.stepBack(order, 'CREATED', { smsAttemptNo: null, channelCode: null });
    if (errorCode === 'SMS_CODE_EXPIRED') throw new DomainError('SMS_CODE_EXPIRED', 'The SMS code expired: send the SMS again');
    throw new DomainError('SMS_CODE_ATTEMPTS_EXCEEDED', 'Too many wrong SMS codes: send the SMS again');
  }

  /** Direct debit: routed now; a retryable failure goes on to the next channel, no answer stops everything (queried). */
  private async debit(order: Payment): Promise<CallResult> {
    const { db, clock, connector, router } = this.deps;
    const card = await repo.findCard(db, order.userId, order.cardId ?? '');
    const number = card && this.deps.cards.open(card.numberSealed, card.id);
    if (!card || number === undefined) return { kind: 'fail', errorCode: 'CARD_NOT_FOUND', errorMessage: 'The payment card was removed', channelCode: null, retryable: false };
    const decided = await router.decide(order, 'DEBIT', { method: 'DIRECT_DEBIT', currency: order.currency, bankCode: card.bankCode, amountMinor: order.payableMinor });
    let last: CallResult = { kind: 'fail', errorCode: 'NO_CHANNEL_AVAILABLE', errorMessage: 'No direct-debit channel can take this payment now', channelCode: null, retryable: true };
    for (const channelCode of decided.order) {
      if (!(await router.admit(decided, channelCode))) continue;
      const attemptNo = newId('pat', clock.now().getTime());
      await repo.insertAttempt(db, { attemptNo, payOrderNo: order.payOrderNo, channelCode, operation: 'DEBIT', status: 'CALLING' }, clock.now());
      const outcome = await connector.debit(channelCode, {
        attemptNo,
        amount: formatMinor(order.payableMinor, order.currency),
        currency: order.currency,
        card: { number, holderName: card.holderName, mobile: card.mobile, bankCode: card.bankCode },
      });
      const result = await this.record(attemptNo, channelCode, outcome);
      await this.circuit(channelCode, result, decided);
      if (result.kind === 'fail' && result.retryable) {
        last = result;
        continue;
      }
      await router.settle(decided, result.kind === 'fail' ? null : channelCode);
      return result;
    }
    await router.settle(decided, null);
    return last;
  }

  /** The attempt row follows the channel's word (guarded: a row already settled stays as it is). */
  private async record(
    attemptNo: string,
    channelCode: string,
    outcome: ChannelCallOutcome<ChannelPaymentResult>,
  ): Promise<CallResult> {
    const now = this.deps.clock.now();
    const from = ['CALLING', 'UNKNOWN'] as const;
    if (outcome.kind === 'unreachable') {
      await repo.updateAttempt(this.deps.db, attemptNo, from, { status: 'FAILED', errorCode: 'CHANNEL_UNREACHABLE', errorMessage: bounded(outcome.error) }, now);
      return { kind: 'fail', errorCode: 'CHANNEL_UNREACHABLE', errorMessage: bounded(outcome.error), channelCode, retryable: true };
    }
    if (outcome.kind === 'unknown' || outcome.data.status === 'PROCESSING' || outcome.data.status === 'NOT_FOUND') {
      await repo.updateAttempt(this.deps.db, attemptNo, from, { status: 'UNKNOWN', errorMessage: outcome.kind === 'unknown' ? bounded(outcome.error) : null }, now);
      return { kind: 'unknown', channelCode };
    }
    const data = outcome.data;
    if (data.status === 'SUCCESS') {
      await repo.updateAttempt(this.deps.db, attemptNo, from, { status: 'SUCCESS', channelRef: data.channelRef ?? null }, now);
      return { kind: 'success', attemptNo, channelCode, channelRef: data.channelRef ?? null };
    }
    const errorCode = bounded(data.errorCode) ?? 'CHANNEL_DECLINED';
    await repo.updateAttempt(this.deps.db, attemptNo, from, { status: 'FAILED', errorCode, errorMessage: bounded(data.errorMessage) }, now);
    return { kind: 'fail', errorCode, errorMessage: bounded(data.errorMessage), channelCode, retryable: data.retryable === true };
  }

  /** Only channel-side trouble counts against a channel: a declined card says nothing about its health. */
  private async circuit(channelCode: string, result: CallResult, decided?: Decided): Promise<void> {
    if (result.kind === 'success') await this.deps.router.succeeded(channelCode, decided);
    else if (result.kind === 'unknown' || result.retryable) await this.deps.router.failed(channelCode);
  }

  private async apply(order: Payment, result: CallResult): Promise<Payment> {
    if (result.kind === 'success') return this.succeed(order, result.channelCode);
    if (result.kind === 'fail') return this.fail(order, ['CONFIRMING', 'UNKNOWN_OUTCOME'], result.errorCode, result.errorMessage, result.channelCode);
    const now = this.deps.clock.now();
    const waiting = await repo.updateOrder(
      this.deps.db,
      order.payOrderNo,
      ['CONFIRMING', 'UNKNOWN_OUTCOME'],
      { step: 'UNKNOWN_OUTCOME', channelCode: result.channelCode, leaseUntil: new Date(now.getTime() + this.deps.options.queryRetryMs) },
      now,
    );
    return waiting ?? (await repo.findPayment(this.deps.db, order.payOrderNo))!;
  }

  /**
   * Accounting, then the final status with its coupon and PAYMENT_FINAL in one
   * transaction. The transfers are keyed on the pay order, so a retry (or the
   * recovery job after a crash between the two) moves the money once.
   */
  async succeed(order: Payment, channelCode: string): Promise<Payment> {
    const { db, clock, ledger } = this.deps;
    const transfers: TransferRequest[] = [
      {
        id: paymentTransferIds.payable(order.payOrderNo),
        debitAccountId: await ledger.platformAccountId('CHANNEL_CLEARING', order.currency),
        creditAccountId: order.creditAccountId as AccountId,
        amountMinor: order.payableMinor,
        currency: order.currency,
        code: order.transferCode,
        reference: order.payOrderNo,
        metadata: { channel: channelCode },
      },
    ];
    if (order.discountMinor > 0n) {
      transfers.push({
        id: paymentTransferIds.discount(order.payOrderNo),
        debitAccountId: await ledger.platformAccountId('COUPON_EXPENSE', order.currency),
        creditAccountId: order.creditAccountId as AccountId,
        amountMinor: order.discountMinor,
        currency: order.currency,
        code: order.transferCode,
        reference: order.payOrderNo,
        metadata: { coupon: order.couponId },
      });
    }
    await ledger.linkedTransfers(transfers);
    crashPoint('payments.after-ledger-before-final');
    const now = clock.now();
    assertTransition('DOING', 'SUCCESS');
    const done = await db.transaction().execute(async (trx) => {
      const row = await repo.updateOrder(trx, order.payOrderNo, ['CONFIRMING', 'UNKNOWN_OUTCOME'], { channelCode, errorCode: null, errorMessage: null }, now, 'SUCCESS');
      if (!row) return undefined;
      if (row.couponId && !(await repo.consumeCoupon(trx, row.couponId, row.payOrderNo, now))) {
        throw new Error(`payment ${row.payOrderNo} succeeded but its coupon ${row.couponId} was not locked for it`);
      }
      await publish(trx, { topic: PAYMENT_FINAL, key: row.payOrderNo, payload: finalEvent(row) });
      return row;
    });
    if (done) this.deps.onFinal?.();
    return done ?? (await repo.findPayment(db, order.payOrderNo))!;
  }

  /** FAIL with its coupon released and PAYMENT_FINAL, in one transaction; only from the given steps. */
  async fail(order: Pick<Payment, 'payOrderNo'>, fromSteps: readonly Payment['step'][], errorCode: string, errorMessage: string | null, channelCode?: string | null): Promise<Payment> {
    const { db, clock } = this.deps;
    const now = clock.now();
    assertTransition('DOING', 'FAIL');
    const done = await db.transaction().execute(async (trx) => {
      const row = await repo.updateOrder(trx, order.payOrderNo, fromSteps, { errorCode, errorMessage, ...(channelCode ? { channelCode } : {}) }, now, 'FAIL');
      if (!row) return undefined;
      if (row.couponId) await repo.releaseCoupon(trx, row.couponId, row.payOrderNo, now);
      await publish(trx, { topic: PAYMENT_FINAL, key: row.payOrderNo, payload: finalEvent(row) });
      return row;
    });
    if (done) this.deps.onFinal?.();
    return done ?? (await repo.findPayment(db, order.payOrderNo))!;
  }

  // ---- recovery -----------------------------------------------------------------------------------

  /**
   * The recovery job: orders left CONFIRMING / UNKNOWN_OUTCOME past their
   * lease are claimed (SKIP LOCKED, the lease pushed out) and settled from
   * their last channel call: SUCCESS recorded -> accounted and finished;
   * a call in flight or unanswered -> QUERIED at its channel (never sent
   * elsewhere); no call made -> stepped back (nothing moved).
   */
  async recoverDue(limit = 20): Promise<number> {
    const now = this.deps.clock.now();
    const due = await repo.claimInFlight(this.deps.db, now, new Date(now.getTime() + this.deps.options.queryRetryMs), limit);
    let settled = 0;
    for (const order of due) {
      try {
        if ((await this.recover(order)).status !== 'DOING') settled += 1;
      } catch (err) {
        this.deps.logger.warn({ err, payOrderNo: order.payOrderNo }, 'could not settle an in-flight payment yet; will try again');
      }
    }
    return settled;
  }

  private async recover(order: Payment): Promise<Payment> {
    const call = lastCall(await repo.attemptsOf(this.deps.db, order.payOrderNo));
    if (!call) {
      // The claim happened, the channel was never called: nothing moved.
      await this.stepBack(order, order.method === 'QUICK_PAY' ? 'SMS_SENT' : 'CREATED');
      return (await repo.findPayment(this.deps.db, order.payOrderNo))!;
    }
    if (call.status === 'SUCCESS') return this.succeed(order, call.channelCode);
    if (call.status === 'FAILED') return this.fail(order, ['CONFIRMING', 'UNKNOWN_OUTCOME'], call.errorCode ?? 'CHANNEL_DECLINED', call.errorMessage, call.channelCode);
    const outcome = await this.deps.connector.query(call.channelCode, call.attemptNo);
    if (outcome.kind === 'answered' && outcome.data.status === 'NOT_FOUND') {
      // The call never reached the channel: nothing was debited.
      await repo.updateAttempt(this.deps.db, call.attemptNo, ['CALLING', 'UNKNOWN'], { status: 'FAILED', errorCode: 'CHANNEL_NOT_REACHED' }, this.deps.clock.now());
      return this.fail(order, ['CONFIRMING', 'UNKNOWN_OUTCOME'], 'CHANNEL_NOT_REACHED', 'The channel never received the payment', call.channelCode);
    }
    return this.apply(order, await this.record(call.attemptNo, call.channelCode, outcome));
  }
}

/** The last CONFIRM or DEBIT of an order (at most one is ever in flight). */
function lastCall(attempts: Attempt[]): Attempt | undefined {
  return attempts.filter((a) => a.operation !== 'SEND_SMS' && a.status !== 'SMS_SENT').at(-1);
}

export function finalEvent(p: Payment): PaymentFinalEvent {
  const view = paymentView(p);
  return {
    payOrderNo: p.payOrderNo,
    businessType: p.businessType,
    businessOrderNo: p.businessOrderNo,
    userId: p.userId,
    amount: view.amount,
    discount: view.discount,
    payable: view.payable,
    currency: p.currency,
    status: p.status as 'SUCCESS' | 'FAIL',
    ...(p.errorCode ? { errorCode: p.errorCode } : {}),
    at: p.updatedAt.toISOString(),
  };
}

function bounded(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 256) : null;
}

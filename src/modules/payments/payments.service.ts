import type { Clock } from '../../platform/clock.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { currencyCode, exponentOf, formatMinor, MAX_AMOUNT_MINOR, parseMoney } from '../../platform/money/index.ts';
import { channelKinds } from '../../protocol/payment-channel.ts';
import { transferCodes, type LedgerService, type Page } from '../ledger/index.ts';
import { maskMobile, normalizeSmsMobile, type SmsService } from '../sms/index.ts';
import type { ChannelConnector } from './payments.connector.ts';
import { ChannelRouter, type CircuitOptions } from './payments.channels.ts';
import { normalizeCardNumber, type Sealer } from './payments.cards.ts';
import { ConfirmChain, SMS_PURPOSE } from './payments.confirm.ts';
import * as repo from './payments.repository.ts';
import {
  businessTypes,
  type Channel,
  type ChannelDebit,
  type Coupon,
  type CouponId,
  type CreatePaymentInput,
  idleSteps,
  type PayOrderNo,
  type Payment,
  type PaymentCard,
  type PaymentCardId,
  type PaymentMethod,
  type PaymentStatus,
  paymentStatuses,
} from './payments.types.ts';
import { channelView, couponStatus, couponView, decisionView, paymentView, type PaymentView } from './payments.views.ts';
import { seededRandom } from '../../platform/random.ts';

export interface PaymentsOptions {
  /** How long one confirm owns its order (longer than a channel call may take); then recovery may settle it. */
  confirmLeaseMs: number;
  /** How often an unanswered channel call is queried. */
  queryRetryMs: number;
  /** How long a coupon stays locked for a payment that is not in a channel call (then the release job frees it). */
  couponLockTtlMs: number;
  circuit: CircuitOptions;
  /** Seeds the weighted routing draw (a failure replays); unset: Math.random. */
  routingSeed?: number | undefined;
}

export interface PaymentsDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerService, 'linkedTransfers' | 'platformAccountId'>;
  sms: Pick<SmsService, 'sendCode' | 'verifyCode'>;
  connector: ChannelConnector;
  /** Seals card numbers at rest (the merchants module's SecretBox). */
  cards: Sealer;
  options: PaymentsOptions;
  /** Called after a final status commits (wakes the outbox relay). */
  onFinal?: () => void;
}

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;
const JOB_BATCH = 50;
const ORDER_NO = /^[A-Za-z0-9_\-.:]{1,64}$/;

/**
 * The payment core (SPEC 8, seed 004): payment orders for business modules,
 * quick pay with its fallback to direct debit, the confirm chain, cards,
 * coupons, channel configuration and routing. The only door into the module.
 */
export class PaymentsService {
  private readonly router: ChannelRouter;
  private readonly chain: ConfirmChain;

  constructor(private readonly deps: PaymentsDeps) {
    const { options } = deps;
    this.router = new ChannelRouter({
      db: deps.db,
      clock: deps.clock,
      circuit: options.circuit,
      random: options.routingSeed === undefined ? Math.random : seededRandom(options.routingSeed),
    });
    this.chain = new ConfirmChain({ ...deps, router: this.router, options });
  }

  // ---- the in-process surface for business modules ------------------------------------------

  /**
   * In the caller's transaction: one DOING payment order for a business order,
   * idempotent on (businessType, businessOrderNo) — the same order again
   * answers the first pay order number; other content under it is PAYMENT_CONFLICT.
   */
  async createPayment(input: CreatePaymentInput, trx: repo.Executor): Promise<{ payOrderNo: PayOrderNo }> {
    validCreate(input);
    const now = this.deps.clock.now();
    const payment: Payment = {
      payOrderNo: newId('pay', now.getTime()),
      ...input,
      discountMinor: 0n,
      payableMinor: input.amountMinor,
      method: null,
      status: 'DOING',
      step: 'CREATED',
      smsSentBy: null,
      cardId: null,
      couponId: null,
      channelCode: null,
      smsAttemptNo: null,
      smsChallengeId: null,
      mobileMasked: null,
      errorCode: null,
      errorMessage: null,
      leaseUntil: null,
      createdAt: now,
      updatedAt: now,
    };
    if (await repo.insertPayment(trx, payment)) return { payOrderNo: payment.payOrderNo };
    const existing = (await repo.findByBusinessOrder(trx, input.businessType, input.businessOrderNo))!;
    if (existing.userId !== input.userId || existing.amountMinor !== input.amountMinor || existing.currency !== input.currency || existing.creditAccountId !== input.creditAccountId) {
      throw new DomainError('PAYMENT_CONFLICT', `${input.businessType} ${input.businessOrderNo} has payment ${existing.payOrderNo} with other content`, { payOrderNo: existing.payOrderNo });
    }
    return { payOrderNo: existing.payOrderNo };
  }

  /**
   * Fails a DOING payment that no channel call holds (PAYMENT_FINAL FAIL).
   * Answers the status after the call: FAIL (now or before), SUCCESS (too
   * late), DOING (a channel call is in flight or unknown: ask again later).
   */
  async cancel(payOrderNo: string, reason: string): Promise<PaymentStatus> {
    const order = await this.find(payOrderNo);
    if (order.status !== 'DOING') return order.status;
    return (await this.chain.fail(order, idleSteps, 'CANCELLED', reason.slice(0, 256))).status;
  }

  /** May a card payment in this currency be routed at all: is any enabled channel configured for it? (Health is routing's business.) */
  async currencyPayableByCard(currency: string): Promise<boolean> {
    return (await this.router.channels()).some(({ channel }) => channel.enabled && (channel.currencies as readonly string[]).includes(currency));
  }

  async getPayment(payOrderNo: string): Promise<PaymentView> {
    return paymentView(await this.find(payOrderNo));
  }

  // ---- the user's flow ------------------------------------------------------------------------

  async myPayment(userId: string, payOrderNo: string): Promise<Payment> {
    const order = await this.find(payOrderNo);
    if (order.userId !== userId) throw notFound(payOrderNo);
    return order;
  }

  async listPayments(filter: { userId?: string; status?: string | undefined; limit?: number | undefined; startingAfter?: string | undefined }): Promise<Page<Payment>> {
    if (filter.status !== undefined && !paymentStatuses.includes(filter.status as PaymentStatus)) {
      throw new DomainError('VALIDATION_FAILED', `status must be one of ${paymentStatuses.join(', ')}`);
    }
    const limit = pageLimit(filter.limit);
    const rows = await repo.listPayments(this.deps.db, { ...filter, status: filter.status as PaymentStatus | undefined }, limit + 1);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * POST .../sms (seed 004, first flow): the card (and coupon) are set, a
   * quick-pay channel is routed and asked to SEND_SMS; a retryable failure
   * tries the next quick-pay channel. When none can take it or every SMS
   * fails, the order switches to DIRECT_DEBIT and Coffer's SMS module sends
   * the code. Calling it again re-sends (and may change card or coupon).
   */
  async sendSms(userId: string, payOrderNo: string, input: { cardId: string; couponId?: string | undefined }): Promise<Payment> {
    const { db, clock } = this.deps;
    const order = await this.idleOrder(userId, payOrderNo);
    const card = await this.card(userId, input.cardId);
    const number = this.deps.cards.open(card.numberSealed, card.id);
    if (number === undefined) throw new Error(`card ${card.id} does not open with the configured key`);
    const discountMinor = input.couponId === undefined ? 0n : this.discount(await this.usableCoupon(userId, input.couponId, order), order);
    const reset = await repo.updateOrder(
      db,
      order.payOrderNo,
      idleSteps,
      {
        step: 'CREATED',
        cardId: card.id,
        couponId: input.couponId ?? null,
        discountMinor,
        payableMinor: order.amountMinor - discountMinor,
        method: null,
        smsSentBy: null,
        channelCode: null,
        smsAttemptNo: null,
        smsChallengeId: null,
        mobileMasked: maskMobile(card.mobile),
        errorCode: null,
        errorMessage: null,
      },
      clock.now(),
    );
    if (!reset) throw inProgress(payOrderNo);

    const sent = await this.quickPaySms(reset, card, number);
    if (sent) return sent;
    try {
      return await this.fallBackToDirectDebit(reset, card);
    } catch (err) {
      // A resend within Coffer's SMS cool-down: the code sent before still stands, and so does the order as it was.
      if (isDomainError(err, 'SMS_RESEND_TOO_SOON') && order.step === 'SMS_SENT' && order.method === 'DIRECT_DEBIT') await this.restore(order);
      throw err;
    }
  }

  private async restore(order: Payment): Promise<void> {
    const { step, method, smsSentBy, cardId, couponId, discountMinor, payableMinor, channelCode, smsAttemptNo, smsChallengeId, mobileMasked } = order;
    const change = { step, method, smsSentBy, cardId, couponId, discountMinor, payableMinor, channelCode, smsAttemptNo, smsChallengeId, mobileMasked };
    await repo.updateOrder(this.deps.db, order.payOrderNo, ['CREATED'], change, this.deps.clock.now());
  }

  private async quickPaySms(order: Payment, card: PaymentCard, number: string): Promise<Payment | undefined> {
    const { db, clock, connector } = this.deps;
    const decided = await this.router.decide(order, 'SEND_SMS', { method: 'QUICK_PAY', currency: order.currency, bankCode: card.bankCode, amountMinor: order.payableMinor });
    for (const channelCode of decided.order) {
      if (!(await this.router.admit(decided, channelCode))) continue;
      const attemptNo = newId('pat', clock.now().getTime());
      await repo.insertAttempt(db, { attemptNo, payOrderNo: order.payOrderNo, channelCode, operation: 'SEND_SMS', status: 'SENDING' }, clock.now());
      const outcome = await connector.sendSms(channelCode, {
        attemptNo,
        amount: formatMinor(order.payableMinor, order.currency),
        currency: order.currency,
        card: { number, holderName: card.holderName, mobile: card.mobile, bankCode: card.bankCode },
      });
      if (outcome.kind === 'answered' && outcome.data.status === 'SMS_SENT') {
        await repo.updateAttempt(db, attemptNo, ['SENDING'], { status: 'SMS_SENT' }, clock.now());
        await this.router.succeeded(channelCode, decided);
        await this.router.settle(decided, channelCode);
        const sent = await repo.updateOrder(
          db,
          order.payOrderNo,
          ['CREATED'],
          { step: 'SMS_SENT', method: 'QUICK_PAY', smsSentBy: 'CHANNEL', channelCode, smsAttemptNo: attemptNo },
          clock.now(),
        );
        return sent ?? (await this.find(order.payOrderNo));
      }
      const errorCode = outcome.kind === 'answered' ? (outcome.data.errorCode ?? 'SMS_SEND_FAILED') : outcome.kind === 'unreachable' ? 'CHANNEL_UNREACHABLE' : 'CHANNEL_NO_ANSWER';
      const message = outcome.kind === 'answered' ? (outcome.data.errorMessage ?? null) : outcome.error;
      await repo.updateAttempt(db, attemptNo, ['SENDING'], { status: 'FAILED', errorCode: errorCode.slice(0, 64), errorMessage: message?.slice(0, 256) ?? null }, clock.now());
      // A card-side refusal (not retryable) would be the same at another quick-pay channel.
      const cardSide = outcome.kind === 'answered' && outcome.data.retryable === false;
      if (cardSide) break;
      await this.router.failed(channelCode);
    }
    await this.router.settle(decided, null);
    return undefined;
  }

  /**
   * Seed 004's fallback: no quick-pay channel sent the SMS, so the order
   * becomes a direct debit and Coffer's own SMS module sends the code (with
   * the order's change, one transaction). If no direct-debit channel could
   * take it either, the payment fails now, clearly, with nothing moved.
   */
  private async fallBackToDirectDebit(order: Payment, card: PaymentCard): Promise<Payment> {
    const { db, clock } = this.deps;
    const decided = await this.router.decide(order, 'SEND_SMS', { method: 'DIRECT_DEBIT', currency: order.currency, bankCode: card.bankCode, amountMinor: order.payableMinor });
    if (decided.order.length === 0) {
      return this.chain.fail(order, ['CREATED'], 'NO_CHANNEL_AVAILABLE', 'No quick-pay or direct-debit channel can take this payment now');
    }
    const switched = await db.transaction().execute(async (trx) => {
      const { challengeId } = await this.deps.sms.sendCode({ purpose: SMS_PURPOSE, subjectId: order.payOrderNo, mobile: card.mobile }, trx);
      return repo.updateOrder(
        trx,
        order.payOrderNo,
        ['CREATED'],
        { step: 'SMS_SENT', method: 'DIRECT_DEBIT', smsSentBy: 'COFFER', smsChallengeId: challengeId },
        clock.now(),
      );
    });
    return switched ?? (await this.find(order.payOrderNo));
  }

  /** POST .../confirm: the confirm chain (payments.confirm.ts). */
  async confirm(userId: string, payOrderNo: string, smsCode: string): Promise<Payment> {
    if (typeof smsCode !== 'string' || smsCode.length === 0 || smsCode.length > 16) throw new DomainError('VALIDATION_FAILED', 'smsCode must be 1-16 characters');
    return this.chain.confirm(await this.myPayment(userId, payOrderNo), smsCode);
  }

  /** A DOING order the user may send an SMS for: not final, not mid-call, not expired (an expired one fails now). */
  private async idleOrder(userId: string, payOrderNo: string): Promise<Payment> {
    const order = await this.myPayment(userId, payOrderNo);
    if (order.status !== 'DOING') throw new DomainError('PAYMENT_FINISHED', `Payment ${payOrderNo} is ${order.status} already`, { status: order.status });
    if (!idleSteps.includes(order.step)) throw inProgress(payOrderNo);
    if (order.expiresAt <= this.deps.clock.now()) {
      await this.chain.fail(order, idleSteps, 'PAYMENT_EXPIRED', 'The payment expired before it was confirmed');
      throw new DomainError('PAYMENT_EXPIRED', `Payment ${payOrderNo} expired at ${order.expiresAt.toISOString()}`);
    }
    return order;
  }

  private async find(payOrderNo: string): Promise<Payment> {
    const order = isId(payOrderNo, 'pay') ? await repo.findPayment(this.deps.db, payOrderNo) : undefined;
    if (!order) throw notFound(payOrderNo);
    return order;
  }

  // ---- cards ----------------------------------------------------------------------------------

  async addCard(userId: string, input: { cardNumber: string; holderName: string; mobile: string; bankCode: string }): Promise<PaymentCard> {
    const number = normalizeCardNumber(input.cardNumber);
    const mobile = normalizeSmsMobile(input.mobile);
    if (mobile === undefined) throw new DomainError('VALIDATION_FAILED', 'mobile must be a phone number: 6-20 digits, optionally after +');
    const holderName = input.holderName.trim();
    const bankCode = input.bankCode.trim().toUpperCase();
    if (holderName.length === 0 || holderName.length > 128) throw new DomainError('VALIDATION_FAILED', 'holderName must be 1-128 characters');
    if (!/^[A-Z0-9_]{2,32}$/.test(bankCode)) throw new DomainError('VALIDATION_FAILED', 'bankCode must be 2-32 letters, digits or _');
    const now = this.deps.clock.now();
    const id = newId('pcd', now.getTime()) as PaymentCardId;
    const card: PaymentCard = { id, userId, numberSealed: this.deps.cards.seal(number, id), last4: number.slice(-4), bankCode, holderName, mobile, createdAt: now };
    await repo.insertCard(this.deps.db, card);
    return card;
  }

  cards(userId: string): Promise<PaymentCard[]> {
    return repo.listCards(this.deps.db, userId);
  }

  async removeCard(userId: string, id: string): Promise<void> {
    if (!(await repo.deleteCard(this.deps.db, userId, id, this.deps.clock.now()))) throw new DomainError('PAYMENT_CARD_NOT_FOUND', `No payment card ${id}`);
  }

  private async card(userId: string, id: string): Promise<PaymentCard> {
    const card = isId(id, 'pcd') ? await repo.findCard(this.deps.db, userId, id) : undefined;
    if (!card) throw new DomainError('PAYMENT_CARD_NOT_FOUND', `No payment card ${id}`);
    return card;
  }

  // ---- coupons --------------------------------------------------------------------------------

  async issueCoupon(issuedBy: string, input: { userId: string; amountOff: string; minSpend: string; currency: string; expiresAt: string }): Promise<Coupon> {
    const currency = currencyCode(input.currency);
    const amountOffMinor = parseMoney(input.amountOff, currency).amountMinor;
    const minSpendMinor = parseMoney(input.minSpend, currency, { allowZero: true }).amountMinor;
    if (minSpendMinor <= amountOffMinor) throw new DomainError('VALIDATION_FAILED', 'minSpend must be more than amountOff (a payment never comes to nothing)');
    const expiresAt = new Date(input.expiresAt);
    const now = this.deps.clock.now();
    if (Number.isNaN(expiresAt.getTime()) || expiresAt <= now) throw new DomainError('VALIDATION_FAILED', 'expiresAt must be an ISO-8601 time in the future');
    if (input.userId.length === 0 || input.userId.length > 64) throw new DomainError('VALIDATION_FAILED', 'userId must be 1-64 characters');
    const coupon: Coupon = {
      id: newId('cpn', now.getTime()) as CouponId,
      userId: input.userId,
      amountOffMinor,
      minSpendMinor,
      currency,
      expiresAt,
      status: 'AVAILABLE',
      payOrderNo: null,
      lockedUntil: null,
      createdAt: now,
      updatedAt: now,
    };
    await repo.insertCoupon(this.deps.db, coupon, issuedBy);
    return coupon;
  }

  async coupons(filter: { userId?: string | undefined; status?: string | undefined; limit?: number | undefined; startingAfter?: string | undefined }): Promise<Page<Coupon>> {
    const limit = pageLimit(filter.limit);
    const now = this.deps.clock.now();
    // The status filter is applied after reading (EXPIRED is not stored): pages may come back short.
    const rows = await repo.listCoupons(this.deps.db, filter.userId, limit + 1, filter.startingAfter);
    const page = rows.slice(0, limit);
    return { data: filter.status ? page.filter((c) => couponStatus(c, now) === filter.status) : page, hasMore: rows.length > limit };
  }

  couponView(coupon: Coupon) {
    return couponView(coupon, this.deps.clock.now());
  }

  /** The coupon the user chose at /sms, checked against the order (it is locked only at confirm). */
  private async usableCoupon(userId: string, couponId: string, order: Payment): Promise<Coupon> {
    const coupon = isId(couponId, 'cpn') ? await repo.findCoupon(this.deps.db, couponId) : undefined;
    if (!coupon || coupon.userId !== userId) throw new DomainError('COUPON_NOT_FOUND', `No coupon ${couponId}`);
    if (coupon.status !== 'AVAILABLE' && coupon.payOrderNo !== order.payOrderNo) {
      throw new DomainError('COUPON_NOT_AVAILABLE', `Coupon ${couponId} is ${coupon.status === 'USED' ? 'used' : 'locked by another payment'}`);
    }
    if (coupon.status === 'USED') throw new DomainError('COUPON_NOT_AVAILABLE', `Coupon ${couponId} is used`);
    if (coupon.expiresAt <= this.deps.clock.now()) throw new DomainError('COUPON_EXPIRED', `Coupon ${couponId} expired at ${coupon.expiresAt.toISOString()}`);
    return coupon;
  }

  private discount(coupon: Coupon, order: Payment): bigint {
    if (coupon.currency !== order.currency) throw new DomainError('COUPON_CURRENCY_MISMATCH', `The coupon is in ${coupon.currency}, the payment in ${order.currency}`);
    if (order.amountMinor < coupon.minSpendMinor) {
      throw new DomainError('COUPON_MIN_SPEND_NOT_MET', `The coupon needs a payment of at least ${formatMinor(coupon.minSpendMinor, coupon.currency)} ${coupon.currency}`);
    }
    return coupon.amountOffMinor;
  }

  // ---- channels, circuits, routing decisions (admin) ------------------------------------------

  async channels() {
    const now = this.deps.clock.now();
    return (await this.router.channels()).map(({ channel, circuit }) => channelView(channel, circuit, now));
  }

  async updateChannel(
    code: string,
    input: { methods?: string[]; banks?: string[] | null; currencies?: string[]; minAmount?: string; maxAmount?: string; priority?: number; weight?: number; enabled?: boolean; version: number },
  ) {
    const rows = await this.router.channels();
    const current = rows.find((r) => r.channel.code === code)?.channel;
    if (!current) throw new DomainError('CHANNEL_NOT_FOUND', `No channel ${code}`);
    const next = editedChannel(current, input);
    const saved = await repo.updateChannel(this.deps.db, code, input.version, next, this.deps.clock.now());
    if (!saved) throw new DomainError('CHANNEL_VERSION_CONFLICT', `Channel ${code} is at another version than ${input.version}: reload it and edit again`);
    return channelView(saved, rows.find((r) => r.channel.code === code)?.circuit, this.deps.clock.now());
  }

  async decisions(filter: { payOrderNo?: string | undefined; limit?: number | undefined; startingAfter?: string | undefined }) {
    const limit = pageLimit(filter.limit);
    const rows = await repo.listDecisions(this.deps.db, filter.payOrderNo, limit + 1, filter.startingAfter);
    return { data: rows.slice(0, limit).map(decisionView), hasMore: rows.length > limit };
  }

  // ---- the settlement check ------------------------------------------------------------------

  /** Channel attempts that ended (SUCCESS or FAILED) in [from, to): what the channels' statement should list too. */
  channelDebitsBetween(from: Date, to: Date): Promise<ChannelDebit[]> {
    return repo.channelDebitsBetween(this.deps.db, from, to);
  }

  /** Channel attempts by number, in whatever status they are; unknown numbers are left out. */
  channelDebits(attemptNos: string[]): Promise<ChannelDebit[]> {
    return repo.channelDebits(this.deps.db, attemptNos);
  }

  // ---- jobs -----------------------------------------------------------------------------------

  /** DOING payments past their expiry that no channel call holds: FAIL (PAYMENT_EXPIRED), like a cancel. */
  async expireDue(): Promise<number> {
    const due = await repo.dueExpiries(this.deps.db, this.deps.clock.now(), JOB_BATCH);
    let expired = 0;
    for (const payOrderNo of due) {
      const order = await this.chain.fail({ payOrderNo }, idleSteps, 'PAYMENT_EXPIRED', 'The payment expired before it was confirmed');
      if (order.errorCode === 'PAYMENT_EXPIRED') expired += 1;
    }
    return expired;
  }

  /** Payments left CONFIRMING / UNKNOWN_OUTCOME past their lease: queried and finished (payments.confirm.ts). */
  recoverDue(): Promise<number> {
    return this.chain.recoverDue(JOB_BATCH);
  }

  /** Coupon locks past their timeout whose payment is not in a channel call and did not succeed. */
  releaseCouponLocks(): Promise<number> {
    return repo.releaseTimedOutLocks(this.deps.db, this.deps.clock.now(), JOB_BATCH);
  }
}

function validCreate(input: CreatePaymentInput): void {
  if (!businessTypes.includes(input.businessType)) throw new DomainError('VALIDATION_FAILED', `businessType must be one of ${businessTypes.join(', ')}`);
  if (!ORDER_NO.test(input.businessOrderNo)) throw new DomainError('VALIDATION_FAILED', 'businessOrderNo must be 1-64 letters, digits or _ - . :');
  if (input.userId.length === 0 || input.userId.length > 64) throw new DomainError('VALIDATION_FAILED', 'userId must be 1-64 characters');
  currencyCode(input.currency);
  if (input.amountMinor <= 0n || input.amountMinor > MAX_AMOUNT_MINOR) throw new DomainError('INVALID_AMOUNT', 'The amount must be more than zero and at most the largest amount accepted');
  if (!transferCodes.includes(input.transferCode)) throw new DomainError('VALIDATION_FAILED', `transferCode must be one of ${transferCodes.join(', ')}`);
  if (input.description.length === 0 || input.description.length > 256) throw new DomainError('VALIDATION_FAILED', 'description must be 1-256 characters');
  if (Number.isNaN(input.expiresAt.getTime())) throw new DomainError('VALIDATION_FAILED', 'expiresAt must be a time');
}

/** The channel after an admin's edit, validated as a whole (limits in a two-decimal currency). */
function editedChannel(current: Channel, input: Parameters<PaymentsService['updateChannel']>[1]): Omit<Channel, 'code' | 'kind' | 'provider' | 'version'> {
  const methods = (input.methods ?? current.methods).map((m) => {
    if (!(channelKinds as readonly string[]).includes(m)) throw new DomainError('VALIDATION_FAILED', `methods must be of ${channelKinds.join(', ')}`);
    return m as PaymentMethod;
  });
  const currencies = (input.currencies ?? current.currencies).map((c) => {
    const code = currencyCode(c);
    if (exponentOf(code) !== 2) throw new DomainError('VALIDATION_FAILED', `channel currencies have two decimals (${code} has ${exponentOf(code)})`);
    return code;
  });
  if (currencies.length === 0) throw new DomainError('VALIDATION_FAILED', 'a channel takes at least one currency');
  const banks = input.banks === undefined ? current.banks : input.banks === null ? null : input.banks.map((b) => b.trim().toUpperCase());
  const minAmountMinor = input.minAmount === undefined ? current.minAmountMinor : parseMoney(input.minAmount, 'CNY').amountMinor;
  const maxAmountMinor = input.maxAmount === undefined ? current.maxAmountMinor : parseMoney(input.maxAmount, 'CNY').amountMinor;
  if (maxAmountMinor < minAmountMinor) throw new DomainError('VALIDATION_FAILED', 'maxAmount must be at least minAmount');
  const priority = input.priority ?? current.priority;
  const weight = input.weight ?? current.weight;
  if (!Number.isInteger(priority) || priority < 0 || priority > 1000) throw new DomainError('VALIDATION_FAILED', 'priority must be an integer 0-1000');
  if (!Number.isInteger(weight) || weight < 0 || weight > 10_000) throw new DomainError('VALIDATION_FAILED', 'weight must be an integer 0-10000');
  return { methods, banks, currencies, minAmountMinor, maxAmountMinor, priority, weight, enabled: input.enabled ?? current.enabled };
}

function pageLimit(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
}

function notFound(payOrderNo: string): DomainError {
  return new DomainError('PAYMENT_NOT_FOUND', `No payment ${payOrderNo}`);
}

function inProgress(payOrderNo: string): DomainError {
  return new DomainError('PAYMENT_IN_PROGRESS', `Payment ${payOrderNo} is being confirmed at a channel: look again in a moment`);
}

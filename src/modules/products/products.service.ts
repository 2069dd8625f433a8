import type { Clock } from '../../platform/clock.ts';
import { DomainError, type ErrorCode, errorCatalogue, isDomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { currencyCode, type CurrencyCode, formatMinor, parseMoney } from '../../platform/money/index.ts';
import type { AccountId, LedgerService } from '../ledger/index.ts';
import { paymentTransferIds } from '../payments/index.ts';
import { ClientKeyTaken, type OrdersService } from '../orders/index.ts';
import {
  type DayCount,
  dayCounts,
  daysBetween,
  earnedMinor,
  interestMinor,
  parseRatePercent,
  type Schedule,
  scheduleFor,
  utcDay,
} from './products.interest.ts';
import * as repo from './products.repository.ts';
import {
  assertSubscriptionTransition,
  type PaymentFinalNotice,
  type PaymentsPort,
  type PayWith,
  type Product,
  type ProductStatus,
  type Subscription,
  type SubscriptionStatus,
  transferIds,
  unsettledHoldingStatuses,
} from './products.types.ts';
import { crashPoint } from '../../platform/faults.ts';

export interface ProductsDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerService, 'findAccount' | 'openAccount' | 'transfer' | 'linkedTransfers' | 'platformAccountId'>;
  /** The users module's USER_FROZEN check, under a row lock in the order's transaction. */
  assertUserCanMoveMoney: (userId: string, trx: repo.Executor) => Promise<void>;
  /** The payment core, for card orders; absent means CARD is refused (PAY_METHOD_UNAVAILABLE). */
  payments?: PaymentsPort;
  /** Transaction orders: each subscription is a PURCHASE order, opened and settled in the subscription's transactions. */
  orders: Pick<OrdersService, 'open' | 'settle' | 'discard'>;
  options: { unpaidExpiryMinutes: number; walletRecoveryAfterS: number };
}

export interface ProductInput {
  code: string;
  name: string;
  currency: string;
  annualRate: string;
  termDays: number;
  minAmount: string;
  stepAmount: string;
  totalAmount: string;
  dayCount: string;
  acceptorBank?: string | undefined;
  saleStart?: string | undefined;
  saleEnd?: string | undefined;
}

export interface Quote {
  amountMinor: bigint;
  currency: CurrencyCode;
  interestMinor: bigint;
  schedule: Schedule;
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const MAX_TERM_DAYS = 3660;
const MAX_PAGE = 100;
const JOB_BATCH = 100;
/** A claimed row is someone's for this long; a crashed worker's rows come back after it. */
const LEASE_MS = 60_000;

/**
 * Savings products (SPEC 7, seed 001): the catalogue, quotes, subscription
 * orders paid from the wallet or by card (through a PaymentsPort), holdings
 * and the maturity job.
 *
 * The raise cap is enforced by one guarded UPDATE of the product row per order
 * (repo.reserve). Wallet orders: reserve + order (one transaction), then the
 * ledger transfer WALLET -> PRODUCT_HOLDING keyed on the order id, then PAID
 * (reserved -> raised) — the ledger runs its own group-committed transactions,
 * so the steps are joined by the idempotent transfer id: an order left
 * AWAITING_PAYMENT by a crash is finished (or undone) by the unpaid job.
 */
export class ProductsService {
  constructor(private readonly deps: ProductsDeps) {}

  // ---- catalogue (admin) -----------------------------------------------------------------------

  async createProduct(input: ProductInput): Promise<Product> {
    if (!CODE.test(input.code)) throw new DomainError('VALIDATION_FAILED', 'code is 1-32 letters, digits, _ or -, starting with a letter or digit');
    const now = this.deps.clock.now();
    const fields = validProduct(input, now);
    const product: Product = {
      id: newId('prd'),
      code: input.code,
      ...fields,
      raisedMinor: 0n,
      reservedMinor: 0n,
      onShelf: false,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await repo.insertProduct(this.deps.db, product))) throw new DomainError('PRODUCT_CODE_TAKEN', `A product with code ${input.code} exists already`);
    return product;
  }

  /** Edits a product nobody has bought into (PRESALE, or not yet sold), at the version the editor read. */
  async updateProduct(id: string, input: Omit<ProductInput, 'code'> & { version: number }): Promise<Product> {
    const current = await this.adminProduct(id);
    const now = this.deps.clock.now();
    const fields = validProduct(input, now);
    const updated = await repo.updateProduct(this.deps.db, current.id, input.version, fields, now);
    if (updated) return updated;
    const latest = await this.adminProduct(id);
    if (latest.version !== input.version) {
      throw new DomainError('PRODUCT_VERSION_CONFLICT', `The product is at version ${latest.version}, not ${input.version}`, { version: latest.version });
    }
    throw new DomainError('PRODUCT_NOT_EDITABLE', `The product is ${this.effectiveStatus(latest)} with ${formatMinor(latest.raisedMinor + latest.reservedMinor, latest.currency)} sold or reserved`);
  }

  async setShelf(id: string, onShelf: boolean): Promise<Product> {
    const product = await repo.setShelf(this.deps.db, (await this.adminProduct(id)).id, onShelf, this.deps.clock.now());
    if (!product) throw new DomainError('PRODUCT_NOT_FOUND', `No product ${id}`);
    return product;
  }

  async adminProduct(idOrCode: string): Promise<Product> {
    const product = await repo.findProduct(this.deps.db, idOrCode);
    if (!product) throw new DomainError('PRODUCT_NOT_FOUND', `No product ${idOrCode}`);
    return product;
  }

  listProducts(page: { page: number; size: number; onShelfOnly: boolean }): Promise<{ rows: Product[]; total: number }> {
    const size = Math.min(Math.max(page.size, 1), MAX_PAGE);
    return repo.listProducts(this.deps.db, { onShelfOnly: page.onShelfOnly, offset: (Math.max(page.page, 1) - 1) * size, limit: size });
  }

  // ---- catalogue (public) ----------------------------------------------------------------------

  /** An on-shelf product; off the shelf it is as if it did not exist. */
  async product(idOrCode: string): Promise<Product> {
    const product = await repo.findProduct(this.deps.db, idOrCode);
    if (!product?.onShelf) throw new DomainError('PRODUCT_NOT_FOUND', `No product ${idOrCode} on the shelf`);
    return product;
  }

  /**
   * The status the clock and the amount say now. The stored one lags until the
   * status job (or a reservation) stores it; reads never wait for that.
   */
  effectiveStatus(product: Product, now = this.deps.clock.now()): ProductStatus {
    if (product.status === 'ENDED' || (product.saleEnd && product.saleEnd <= now)) return 'ENDED';
    if (product.saleStart && product.saleStart > now) return 'PRESALE';
    return product.raisedMinor + product.reservedMinor >= product.totalAmountMinor ? 'SOLD_OUT' : 'ON_SALE';
  }

  /** What `amount` would earn if bought now. */
  async quote(idOrCode: string, amount: string): Promise<Quote> {
    const product = await this.product(idOrCode);
    const amountMinor = validAmountFor(product, amount);
    return { amountMinor, currency: product.currency, interestMinor: interestMinor(amountMinor, terms(product)), schedule: scheduleFor(this.deps.clock.now(), product.termDays) };
  }

  // ---- subscription orders ---------------------------------------------------------------------

  /**
   * POST /my/subscriptions. WALLET: PAID at once (or refused, nothing kept).
   * CARD: AWAITING_PAYMENT with a payment order of the payment core, created in
   * the order's transaction; PAYMENT_FINAL settles it.
   *
   * `clientKey` (the request's Idempotency-Key) names the order: a retry that
   * took the key over from a process that died mid-way, perhaps after the
   * wallet debit, finishes that order rather than making and paying a second.
   */
  async subscribe(userId: string, input: { productId: string; amount: string; payWith: PayWith }, clientKey?: string): Promise<Subscription> {
    if (clientKey) {
      const earlier = await repo.findSubscriptionByClientKey(this.deps.db, userId, clientKey);
      if (earlier) return this.resume(earlier);
    }
    const product = await this.adminProduct(input.productId);
    const amountMinor = validAmountFor(product, input.amount);
    if (input.payWith === 'CARD' && !this.deps.payments) throw new DomainError('PAY_METHOD_UNAVAILABLE', 'Card payments are not available on this server');
    const left = product.totalAmountMinor - product.raisedMinor - product.reservedMinor;
    // The guarded reservation decides; this only answers plain cases before any account is touched.
    if (!product.onShelf || this.effectiveStatus(product) !== 'ON_SALE' || left < amountMinor) {
      throw await this.whyNotReserved(this.deps.db, product.id, amountMinor, this.deps.clock.now());
    }
    const walletAccountId = await this.walletOf(userId, product.currency);
    const holdingAccountId = await this.holdingOf(userId, product.currency);
    const now = this.deps.clock.now();
    const expiresAt =
      input.payWith === 'CARD'
        ? new Date(now.getTime() + this.deps.options.unpaidExpiryMinutes * 60_000)
        : new Date(now.getTime() + this.deps.options.walletRecoveryAfterS * 1000);
    const order: Subscription = {
      id: newId('sub'),
      userId,
      productId: product.id,
      productCode: product.code,
      productName: product.name,
      amountMinor,
      currency: product.currency,
      ratePpm: product.ratePpm,
      termDays: product.termDays,
      dayCount: product.dayCount,
      interestMinor: interestMinor(amountMinor, terms(product)),
      ...scheduleFor(now, product.termDays),
      status: 'AWAITING_PAYMENT',
      payWith: input.payWith,
      payOrderNo: null,
      walletAccountId,
      holdingAccountId,
      expiresAt,
      errorCode: null,
      createdAt: now,
      paidAt: null,
      settledAt: null,
      updatedAt: now,
    };
    const saved = await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.assertUserCanMoveMoney(userId, trx);
      if (!(await repo.reserve(trx, product.id, amountMinor, now))) throw await this.whyNotReserved(trx, product.id, amountMinor, now);
      if (input.payWith === 'CARD') {
        const { payOrderNo } = await this.deps.payments!.createPayment(
          {
            businessType: 'SUBSCRIPTION',
            businessOrderNo: order.id,
            userId,
            amountMinor,
            currency: product.currency,
            creditAccountId: holdingAccountId,
            transferCode: 'subscription',
            description: `${product.name} (${product.code})`,
            expiresAt,
          },
          trx,
        );
        order.payOrderNo = payOrderNo;
      }
      if (!(await repo.insertSubscription(trx, order, clientKey ?? null))) throw new ClientKeyTaken();
      await this.deps.orders.open(
        {
          type: 'PURCHASE',
          serialNo: order.id,
          userId,
          currency: order.currency,
          amountMinor,
          accountId: order.payWith === 'CARD' ? holdingAccountId : walletAccountId,
          transferIds: [order.payOrderNo ? paymentTransferIds.payable(order.payOrderNo) : transferIds.walletPayment(order.id)],
        },
        trx,
      );
      return order;
    }).catch(async (err: unknown) => {
      // Another request with this key (still running after its lease ran out) saved its order first.
      if (!(err instanceof ClientKeyTaken)) throw err;
      return (await repo.findSubscriptionByClientKey(this.deps.db, userId, clientKey!))!;
    });
    return this.resume(saved);
  }

  /**
   * A new or found order of this user's request: a wallet payment not made yet is made now (at most once:
   * keyed on the order). A found wallet order the recovery job cancelled (its payment was refused) answers
   * that refusal, as the request would have had it lived.
   */
  private async resume(order: Subscription): Promise<Subscription> {
    if (order.payWith !== 'WALLET') return order;
    if (order.status === 'AWAITING_PAYMENT') return this.payFromWallet(order, 'refuse');
    if (order.status === 'CANCELLED') {
      // A wallet order is cancelled only with the ledger's refusal of its payment, a catalogued code.
      const code = order.errorCode !== null && order.errorCode in errorCatalogue ? (order.errorCode as ErrorCode) : 'INSUFFICIENT_FUNDS';
      throw new DomainError(code, `The payment of ${order.id} was refused (${order.errorCode})`, { subscriptionId: order.id });
    }
    return order;
  }

  /**
   * Moves the money WALLET -> PRODUCT_HOLDING (id from the order: at most once)
   * and marks the order PAID. A refusal (too little money, a frozen account)
   * undoes the order: at the request it disappears ('refuse'), in the recovery
   * job it is CANCELLED ('cancel'). Any other failure leaves it for the job.
   */
  private async payFromWallet(order: Subscription, onRefusal: 'refuse' | 'cancel'): Promise<Subscription> {
    try {
      await this.deps.ledger.transfer({
        id: transferIds.walletPayment(order.id),
        debitAccountId: order.walletAccountId,
        creditAccountId: order.holdingAccountId,
        amountMinor: order.amountMinor,
        currency: order.currency,
        code: 'subscription',
        reference: order.id,
      });
    } catch (err) {
      if (!isDomainError(err)) throw err;
      if (onRefusal === 'refuse') await this.undoUnpaid(order);
      else await this.cancelUnpaid(order, err.code);
      throw err;
    }
    crashPoint('products.after-wallet-debit');
    return (await this.markPaid(order)) ?? (await this.subscriptionById(order.id));
  }

  /** AWAITING_PAYMENT -> PAID with the reservation turned into raised money, in one transaction. */
  private async markPaid(order: Subscription): Promise<Subscription | undefined> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const paid = await move(trx, order.id, ['AWAITING_PAYMENT'], 'PAID', { paidAt: now, ...scheduleFor(now, order.termDays) }, now);
      if (paid) {
        await repo.confirmReserved(trx, order.productId, order.amountMinor, now);
        await this.deps.orders.settle([{ type: 'PURCHASE', serialNo: order.id, status: 'SUCCEEDED' }], trx);
      }
      return paid;
    });
  }

  /** AWAITING_PAYMENT -> CANCELLED with the reservation released, in one transaction. */
  private async cancelUnpaid(order: Subscription, errorCode: string): Promise<Subscription | undefined> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const cancelled = await move(trx, order.id, ['AWAITING_PAYMENT'], 'CANCELLED', { errorCode }, now);
      if (cancelled) {
        await repo.release(trx, order.productId, order.amountMinor, now);
        await this.deps.orders.settle([{ type: 'PURCHASE', serialNo: order.id, status: 'FAILED', errorCode }], trx);
      }
      return cancelled;
    });
  }

  /** A refused order leaves nothing: the subscription, its reservation and its transaction order go. */
  private async undoUnpaid(order: Subscription): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.deleteUnpaid(trx, order.id))) return;
      await repo.release(trx, order.productId, order.amountMinor, now);
      await this.deps.orders.discard('PURCHASE', order.id, trx);
    });
  }

  /** Consumer of the payment core's PAYMENT_FINAL: SUCCESS pays the order, FAIL cancels it. Idempotent. */
  async handlePaymentFinal(notice: PaymentFinalNotice): Promise<void> {
    if (notice.businessType !== 'SUBSCRIPTION') return;
    const order = await repo.findSubscription(this.deps.db, notice.businessOrderNo);
    if (!order) {
      this.deps.logger.error({ payOrderNo: notice.payOrderNo, businessOrderNo: notice.businessOrderNo }, 'payment.final for no known subscription');
      return;
    }
    if (order.status !== 'AWAITING_PAYMENT') {
      if (notice.status === 'SUCCESS' && order.status === 'CANCELLED') {
        this.deps.logger.error({ subscriptionId: order.id, payOrderNo: notice.payOrderNo }, 'a cancelled subscription was paid: the money is in its holding account');
      }
      return; // a redelivery, or the expiry job settled it first
    }
    if (notice.status === 'SUCCESS') await this.markPaid(order);
    else await this.cancelUnpaid(order, notice.errorCode ?? 'PAYMENT_FAILED');
  }

  /**
   * The unpaid job. Card orders past their expiry: the payment is cancelled at
   * the payment core first, and the reservation released only when it answers
   * FAIL (SUCCESS: paid after all; DOING: asked again next time). Wallet orders
   * a crash left half-done: the same transfer again (a replay if it happened).
   */
  async expireUnpaid(): Promise<number> {
    const now = this.deps.clock.now();
    const due = await repo.claimDueUnpaid(this.deps.db, now, new Date(now.getTime() + LEASE_MS), JOB_BATCH);
    let settled = 0;
    for (const order of due) {
      try {
        if (await this.settleUnpaid(order)) settled += 1;
      } catch (err) {
        this.deps.logger.error({ err, subscriptionId: order.id }, 'could not settle an unpaid subscription; retried later');
      }
    }
    return settled;
  }

  private async settleUnpaid(order: Subscription): Promise<boolean> {
    if (order.payWith === 'WALLET') {
      await this.payFromWallet(order, 'cancel').catch((err: unknown) => {
        if (!isDomainError(err)) throw err;
      });
      return true;
    }
    const answer = await this.deps.payments!.cancel(order.payOrderNo!, 'SUBSCRIPTION_EXPIRED');
    if (answer === 'FAIL') return (await this.cancelUnpaid(order, 'PAYMENT_EXPIRED')) !== undefined;
    if (answer === 'SUCCESS') return (await this.markPaid(order)) !== undefined;
    return false;
  }

  // ---- holdings --------------------------------------------------------------------------------

  async subscriptionById(id: string): Promise<Subscription> {
    const order = await repo.findSubscription(this.deps.db, id);
    if (!order) throw new DomainError('SUBSCRIPTION_NOT_FOUND', `No subscription ${id}`);
    return order;
  }

  async subscriptionOf(userId: string, id: string): Promise<Subscription> {
    const order = await repo.findSubscription(this.deps.db, id);
    if (!order || order.userId !== userId) throw new DomainError('SUBSCRIPTION_NOT_FOUND', `You have no subscription ${id}`);
    return order;
  }

  async subscriptionsOf(userId: string, page: { limit?: number | undefined; startingAfter?: string | undefined }): Promise<{ data: Subscription[]; hasMore: boolean }> {
    const limit = Math.min(Math.max(page.limit ?? 20, 1), MAX_PAGE);
    const rows = await repo.listSubscriptions(this.deps.db, userId, page.startingAfter, limit + 1);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Where a holding stands today: the stored status plus what the calendar has done since. */
  holdingStatus(order: Subscription, today = utcDay(this.deps.clock.now())): SubscriptionStatus {
    if (!unsettledHoldingStatuses.includes(order.status)) return order.status;
    if (order.maturityDate <= today) return 'MATURED';
    return order.valueDate <= today ? 'VALUE' : 'PAID';
  }

  /** Interest earned so far: linear by days since the value date, floored; all of it once settled. */
  earnedToDate(order: Subscription, today = utcDay(this.deps.clock.now())): bigint {
    if (order.status === 'SETTLED') return order.interestMinor;
    if (!unsettledHoldingStatuses.includes(order.status)) return 0n;
    return earnedMinor(order.amountMinor, terms(order), daysBetween(order.valueDate, today));
  }

  // ---- maturity --------------------------------------------------------------------------------

  /**
   * The maturity job: stores the statuses the calendar reached, then pays back
   * every holding whose maturity date is today or earlier (so missed days are
   * caught up), principal and interest in one linked ledger group with ids from
   * the order, then SETTLED by a guarded update. A crash between the two is
   * repaired by the next run: the transfers replay (nothing moves twice) and the
   * status follows. Rows are claimed (SKIP LOCKED + lease) so several processes
   * never pay one holding at once. Answers how many it settled.
   */
  async settleDueMaturities(): Promise<number> {
    let settled = 0;
    for (;;) {
      const now = this.deps.clock.now();
      const today = utcDay(now);
      await repo.advanceHoldingStatuses(this.deps.db, today, now);
      const due = await repo.claimDueMaturities(this.deps.db, today, now, new Date(now.getTime() + LEASE_MS), JOB_BATCH);
      for (const order of due) {
        try {
          await this.settleMaturity(order);
          settled += 1;
        } catch (err) {
          this.deps.logger.error({ err, subscriptionId: order.id }, 'could not settle a matured subscription; retried when its claim runs out');
        }
      }
      if (due.length < JOB_BATCH) return settled;
    }
  }

  private async settleMaturity(order: Subscription): Promise<void> {
    const principal = {
      id: transferIds.principal(order.id),
      debitAccountId: order.holdingAccountId,
      creditAccountId: order.walletAccountId,
      amountMinor: order.amountMinor,
      currency: order.currency,
      code: 'maturity' as const,
      reference: order.id,
    };
    if (order.interestMinor > 0n) {
      const interestExpense = await this.deps.ledger.platformAccountId('INTEREST_EXPENSE', order.currency);
      await this.deps.ledger.linkedTransfers([
        principal,
        { ...principal, id: transferIds.interest(order.id), debitAccountId: interestExpense, amountMinor: order.interestMinor, code: 'interest' },
      ]);
    } else {
      await this.deps.ledger.transfer(principal);
    }
    crashPoint('products.maturity-after-ledger');
    const now = this.deps.clock.now();
    await move(this.deps.db, order.id, unsettledHoldingStatuses, 'SETTLED', { settledAt: now }, now);
  }

  /** The product status job: stores what saleStart / saleEnd have done. */
  advanceProductStatuses(): Promise<number> {
    return repo.advanceProductStatuses(this.deps.db, this.deps.clock.now());
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Why the guarded reservation refused: the product's state, read in the same transaction. */
  private async whyNotReserved(trx: repo.Executor, productId: string, amountMinor: bigint, now: Date): Promise<DomainError> {
    const product = (await repo.findProduct(trx, productId))!;
    if (!product.onShelf) return new DomainError('PRODUCT_OFF_SHELF', `${product.code} is not on the shelf`);
    const status = this.effectiveStatus(product, now);
    if (status === 'PRESALE') return new DomainError('PRODUCT_NOT_ON_SALE', `${product.code} goes on sale at ${product.saleStart!.toISOString()}`);
    if (status === 'ENDED') return new DomainError('PRODUCT_ENDED', `The sale of ${product.code} has ended`);
    if (status === 'SOLD_OUT') return new DomainError('PRODUCT_SOLD_OUT', `${product.code} is sold out`);
    const remaining = product.totalAmountMinor - product.raisedMinor - product.reservedMinor;
    return new DomainError('PRODUCT_QUOTA_EXCEEDED', `Only ${formatMinor(remaining, product.currency)} ${product.currency} of ${product.code} is left`, {
      remaining: formatMinor(remaining, product.currency),
      requested: formatMinor(amountMinor, product.currency),
    });
  }

  private async walletOf(userId: string, currency: CurrencyCode): Promise<AccountId> {
    const wallet = await this.deps.ledger.findAccount({ ownerKind: 'USER', ownerId: userId, type: 'WALLET', currency });
    if (!wallet) throw new DomainError('ACCOUNT_NOT_OPENED', `You have no ${currency} wallet yet: open a depository account first`);
    return wallet.id;
  }

  /** The user's PRODUCT_HOLDING account in the currency, opened on first use. */
  private async holdingOf(userId: string, currency: CurrencyCode): Promise<AccountId> {
    const owner = { ownerKind: 'USER' as const, ownerId: userId, type: 'PRODUCT_HOLDING' as const, currency };
    const found = await this.deps.ledger.findAccount(owner);
    if (found) return found.id;
    try {
      return (await this.deps.ledger.openAccount(owner)).id;
    } catch (err) {
      if (!isDomainError(err, 'ACCOUNT_ALREADY_EXISTS')) throw err;
      return (await this.deps.ledger.findAccount(owner))!.id;
    }
  }
}

/** A guarded transition that is also in the state table. */
function move(db: repo.Executor, id: string, from: readonly SubscriptionStatus[], to: SubscriptionStatus, change: repo.SubscriptionMove, now: Date) {
  for (const status of from) assertSubscriptionTransition(status, to);
  return repo.moveSubscription(db, id, from, to, change, now);
}

function terms(p: { ratePpm: number; termDays: number; dayCount: DayCount }) {
  return { ratePpm: p.ratePpm, termDays: p.termDays, dayCount: p.dayCount };
}

/**
 * An amount a buyer may ask for: at least the minimum, and the minimum plus a
 * whole number of steps ((amount - min) % step == 0), as the seed's products
 * sell in lots above their threshold.
 */
function validAmountFor(product: Product, amount: string): bigint {
  const amountMinor = parseMoney(amount, product.currency).amountMinor;
  const format = (minor: bigint) => formatMinor(minor, product.currency);
  if (amountMinor < product.minAmountMinor) {
    throw new DomainError('AMOUNT_BELOW_MINIMUM', `The minimum is ${format(product.minAmountMinor)} ${product.currency}`, { minAmount: format(product.minAmountMinor) });
  }
  if ((amountMinor - product.minAmountMinor) % product.stepAmountMinor !== 0n) {
    throw new DomainError('AMOUNT_NOT_A_STEP_MULTIPLE', `Buy ${format(product.minAmountMinor)} plus a multiple of ${format(product.stepAmountMinor)} ${product.currency}`, {
      minAmount: format(product.minAmountMinor),
      stepAmount: format(product.stepAmountMinor),
    });
  }
  return amountMinor;
}

function validProduct(input: Omit<ProductInput, 'code'>, now: Date): repo.ProductChanges {
  const currency = currencyCode(input.currency);
  const name = input.name.trim();
  if (name.length === 0 || name.length > 128) throw new DomainError('VALIDATION_FAILED', 'name is 1-128 characters');
  if (!Number.isInteger(input.termDays) || input.termDays < 1 || input.termDays > MAX_TERM_DAYS) {
    throw new DomainError('VALIDATION_FAILED', `termDays is a whole number of days from 1 to ${MAX_TERM_DAYS}`);
  }
  if (!(dayCounts as readonly string[]).includes(input.dayCount)) throw new DomainError('VALIDATION_FAILED', `dayCount is one of ${dayCounts.join(', ')}`);
  const minAmountMinor = parseMoney(input.minAmount, currency).amountMinor;
  const stepAmountMinor = parseMoney(input.stepAmount, currency).amountMinor;
  const totalAmountMinor = parseMoney(input.totalAmount, currency).amountMinor;
  if (minAmountMinor > totalAmountMinor) throw new DomainError('VALIDATION_FAILED', 'minAmount must not exceed totalAmount');
  const saleStart = optionalTime(input.saleStart, 'saleStart');
  const saleEnd = optionalTime(input.saleEnd, 'saleEnd');
  if (saleStart && saleEnd && saleEnd <= saleStart) throw new DomainError('VALIDATION_FAILED', 'saleEnd must be after saleStart');
  const acceptorBank = input.acceptorBank?.trim() || null;
  if (acceptorBank && acceptorBank.length > 128) throw new DomainError('VALIDATION_FAILED', 'acceptorBank is at most 128 characters');
  return {
    name,
    currency,
    ratePpm: parseRatePercent(input.annualRate),
    termDays: input.termDays,
    minAmountMinor,
    stepAmountMinor,
    totalAmountMinor,
    dayCount: input.dayCount as DayCount,
    acceptorBank,
    saleStart,
    saleEnd,
    status: saleEnd && saleEnd <= now ? 'ENDED' : saleStart && saleStart > now ? 'PRESALE' : 'ON_SALE',
  };
}

function optionalTime(value: string | undefined, field: string): Date | null {
  if (value === undefined || value === null) return null;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms)) throw new DomainError('VALIDATION_FAILED', `${field} must be an ISO-8601 time`);
  return new Date(ms);
}

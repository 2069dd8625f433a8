import type { Clock } from '../../platform/clock.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { crashPoint } from '../../platform/faults.ts';
import type { Logger } from '../../platform/log.ts';
import { currencyCode, type CurrencyCode, parseMoney } from '../../platform/money/index.ts';
import { type Account, accountTypes, type AccountType, type LedgerService } from '../ledger/index.ts';
import { type KeyedRequest, newOrderId, type OrdersService, type TransactionOrder } from '../orders/index.ts';
import { paymentTransferIds, type CreatePaymentInput, type PaymentFinalEvent, type PaymentsService } from '../payments/index.ts';
import * as repo from './wallets.repository.ts';
import type { WalletUser } from './wallets.service.ts';

type Payment = Awaited<ReturnType<PaymentsService['sendSms']>>;
export interface CardRecharge {
  order: TransactionOrder;
  payment: Payment;
}

/** The account types a user opens by themselves; the others open with the flow that needs them (e.g. PRODUCT_HOLDING). */
export const SELF_OPENED_TYPES: readonly AccountType[] = ['WALLET'];

/** How long a card top-up waits for its SMS code to be confirmed before the payment core fails it. */
const CARD_RECHARGE_TTL_MS = 15 * 60_000;

export interface WalletAccountsDeps {
  db: repo.Executor;
  /**
   * The depository's currency: its wallet mirrors the virtual account at the
   * bank, so it is recharged and withdrawn through the bank, never by card
   * (card money would be in Coffer's books and not at the bank, and the bank
   * refuses to pay out what it does not hold).
   */
  depositoryCurrency: CurrencyCode;
  clock: Clock;
  logger: Logger;
  ledger: Pick<LedgerService, 'openAccount' | 'findAccount' | 'accountsOf'>;
  orders: Pick<OrdersService, 'open' | 'settle' | 'orderOf' | 'startOnce'>;
  payments: Pick<PaymentsService, 'createPayment' | 'sendSms' | 'myPayment' | 'cards' | 'currencyPayableByCard'>;
  /** The users module's USER_FROZEN check, under a row lock in the top-up's transaction. */
  assertUserCanMoveMoney: (userId: string, trx: repo.Executor) => Promise<void>;
}

/**
 * Wallet accounts by type and currency (seed 002's 開戶 and 查詢) and card
 * top-ups through the payment core (seed 002's recharge -> payment system ->
 * result). A top-up is a RECHARGE_CARD transaction order plus a payment
 * order crediting the wallet: the payment core moves the money (once, keyed
 * on the pay order) and its PAYMENT_FINAL settles the order here.
 */
export class WalletAccounts {
  constructor(private readonly deps: WalletAccountsDeps) {}

  /**
   * POST /my/accounts. Needs an opened depository account (the bank checked the
   * user's real name there: that is what lets them hold money in any currency).
   * One account per (user, type, currency): a second is ACCOUNT_ALREADY_EXISTS.
   * `retriedFrom` is when a request whose process died first asked, for its
   * retry: an account opened since then is the one that request opened.
   */
  async open(user: WalletUser, input: { type: string; currency: string }, retriedFrom?: Date): Promise<Account> {
    const type = selfOpenedType(input.type);
    const currency = currencyCode(input.currency);
    const depository = await repo.findDepositoryAccount(this.deps.db, user.id);
    if (depository?.status !== 'OPENED') {
      throw new DomainError('ACCOUNT_NOT_OPENED', 'Open your depository account first (POST /my/depository-accounts): it verifies who you are at the bank');
    }
    try {
      return await this.deps.ledger.openAccount({ ownerKind: 'USER', ownerId: user.id, type, currency });
    } catch (err) {
      if (!retriedFrom || !isDomainError(err, 'ACCOUNT_ALREADY_EXISTS')) throw err;
      const opened = (await this.list(user.id, { type, currency }))[0];
      if (!opened || opened.createdAt < retriedFrom) throw err;
      return opened;
    }
  }

  /** Does POST /my/card-recharges take this account? */
  takesCardTopUps(account: Pick<Account, 'type' | 'currency'>): boolean {
    return account.type === 'WALLET' && account.currency !== this.deps.depositoryCurrency;
  }

  /** GET /my/accounts: the user's accounts, by type and currency when asked. */
  async list(userId: string, filter: { type?: string | undefined; currency?: string | undefined }): Promise<Account[]> {
    const type = filter.type === undefined ? undefined : knownType(filter.type);
    const currency = filter.currency === undefined ? undefined : currencyCode(filter.currency);
    return (await this.deps.ledger.accountsOf('USER', userId)).filter((a) => (!type || a.type === type) && (!currency || a.currency === currency));
  }

  /**
   * POST /my/card-recharges. Everything that can be refused is refused before
   * any order exists: an unknown currency, the depository's, one no card
   * channel takes, no wallet in it, a frozen wallet or user, a card that is
   * not the user's. Then one transaction opens the order and its payment; then
   * the first SMS step runs (a quick-pay channel texts, or Coffer does for a
   * direct debit). `clientKey` (the request's Idempotency-Key) names the
   * order: a retry whose first answer was lost gets that top-up as it stands.
   */
  async cardRecharge(user: WalletUser, input: { amount: string; currency: string; cardId: string }, clientKey?: string): Promise<CardRecharge> {
    const currency = currencyCode(input.currency);
    const amountMinor = parseMoney(input.amount, currency).amountMinor;
    const asked = { userId: user.id, type: 'RECHARGE_CARD', currency, amountMinor, clientKey } as const;
    return this.deps.orders.startOnce(asked, () => this.startCardRecharge(user, input.cardId, asked), (order) => this.cardRechargeAsItStands(user, order, input.cardId));
  }

  private async startCardRecharge(user: WalletUser, cardId: string, asked: KeyedRequest): Promise<CardRecharge> {
    const { currency, amountMinor } = asked;
    if (currency === this.deps.depositoryCurrency) {
      throw new DomainError('CURRENCY_HELD_AT_DEPOSITORY', `${currency} is held at the depository bank: top it up by bank recharge (POST /my/recharge-records)`);
    }
    if (!(await this.deps.payments.currencyPayableByCard(currency))) {
      throw new DomainError('CURRENCY_NOT_PAYABLE_BY_CARD', `No card payment channel takes ${currency}; top up in another currency`);
    }
    const wallet = await this.walletIn(user.id, currency);
    if (!(await this.deps.payments.cards(user.id)).some((card) => card.id === cardId)) {
      throw new DomainError('PAYMENT_CARD_NOT_FOUND', `No payment card ${cardId} (GET /my/payment-cards)`);
    }
    const now = this.deps.clock.now();
    const orderId = newOrderId();
    const payment: CreatePaymentInput = {
      businessType: 'RECHARGE',
      businessOrderNo: orderId,
      userId: user.id,
      amountMinor,
      currency,
      creditAccountId: wallet.id,
      transferCode: 'recharge',
      description: `Wallet top-up ${wallet.accountNo} (${currency})`,
      expiresAt: new Date(now.getTime() + CARD_RECHARGE_TTL_MS),
    };
    const created = await this.deps.db.transaction().execute(async (trx) => {
      await this.deps.assertUserCanMoveMoney(user.id, trx);
      const { payOrderNo } = await this.deps.payments.createPayment(payment, trx);
      const order = await this.deps.orders.open({ ...asked, id: orderId, serialNo: payOrderNo, accountId: wallet.id, transferIds: [paymentTransferIds.payable(payOrderNo)] }, trx);
      return { order, payOrderNo };
    });
    crashPoint('wallets.card-recharge-before-sms');
    return { order: created.order, payment: await this.deps.payments.sendSms(user.id, created.payOrderNo, { cardId }) };
  }

  /** The top-up a retry's Idempotency-Key opened: its SMS step is started if the first request died before it. */
  private async cardRechargeAsItStands(user: WalletUser, order: TransactionOrder, cardId: string): Promise<CardRecharge> {
    const payment = await this.deps.payments.myPayment(user.id, order.serialNo);
    if (payment.status !== 'DOING' || payment.step !== 'CREATED') return { order, payment };
    return { order, payment: await this.deps.payments.sendSms(user.id, payment.payOrderNo, { cardId }) };
  }

  /**
   * Consumer of PAYMENT_FINAL for RECHARGE payments: the order follows the
   * payment (the money already moved, or never will). Guarded: a second
   * delivery, or a result after the order was settled, changes nothing.
   */
  async handlePaymentFinal(event: PaymentFinalEvent): Promise<void> {
    if (event.businessType !== 'RECHARGE') return;
    const status = event.status === 'SUCCESS' ? 'SUCCEEDED' : 'FAILED';
    const moved = await this.deps.orders.settle([{ type: 'RECHARGE_CARD', serialNo: event.payOrderNo, status, errorCode: event.errorCode ?? null }]);
    if (moved.size === 0) this.deps.logger.info({ payOrderNo: event.payOrderNo, status }, 'card top-up order already settled (a redelivered result)');
  }

  /** The user's wallet in `currency`, able to take money now. */
  private async walletIn(userId: string, currency: CurrencyCode): Promise<Account> {
    const wallet = await this.deps.ledger.findAccount({ ownerKind: 'USER', ownerId: userId, type: 'WALLET', currency });
    if (!wallet) throw new DomainError('WALLET_NOT_OPENED', `You have no ${currency} wallet yet: open one first (POST /my/accounts)`);
    if (wallet.status === 'FROZEN') throw new DomainError('ACCOUNT_FROZEN', `Your ${currency} wallet ${wallet.accountNo} is frozen: it takes no top-ups`);
    if (wallet.status === 'CLOSED') throw new DomainError('ACCOUNT_CLOSED', `Your ${currency} wallet ${wallet.accountNo} is closed`);
    return wallet;
  }
}

function knownType(value: string): AccountType {
  if (!(accountTypes as readonly string[]).includes(value)) throw new DomainError('VALIDATION_FAILED', `type must be one of ${SELF_OPENED_TYPES.join(', ')} (or another account type of yours)`);
  return value as AccountType;
}

function selfOpenedType(value: string): AccountType {
  if (!SELF_OPENED_TYPES.includes(value as AccountType)) {
    throw new DomainError('ACCOUNT_TYPE_NOT_OPENABLE', `You can open accounts of type ${SELF_OPENED_TYPES.join(', ')}; "${value}" is not one of them`);
  }
  return value as AccountType;
}

import type { Clock } from '../../platform/clock.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { currencyCode, type CurrencyCode, parseMoney } from '../../platform/money/index.ts';
import { type ItemResult, settleItem } from '../../platform/batcher.ts';
import { type OutboxMessage, publish } from '../../platform/outbox/index.ts';
import type { GatewayRequest } from '../../protocol/depository.ts';
import type { DepositoryAgent, DepositorySettledEvent } from '../depository/index.ts';
import type { RiskService } from '../risk/index.ts';
import type { SmsService } from '../sms/index.ts';
import type { Account, AccountId, Entry, LedgerService, Page } from '../ledger/index.ts';
import type { KeyedRequest, OrderSettlement, OrdersService } from '../orders/index.ts';
import * as repo from './wallets.repository.ts';
import {
  assertTransition,
  type BoundCard,
  CARD_REMOVED,
  type CardRemovedEvent,
  type DepositoryAccount,
  type RechargeRecord,
  type RecordKind,
  type WithdrawRecord,
} from './wallets.types.ts';
import { crashPoint } from '../../platform/faults.ts';
import { Withdrawals } from './wallets.withdrawals.ts';

/** Who is asking, as the users module authenticated them. */
export interface WalletUser {
  id: string;
  mobile: string;
  status: string;
}

export interface WalletsDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  ledger: LedgerService;
  agent: DepositoryAgent;
  depository: { currency: string; withdrawFee: string; orphanHoldAfterS: number; requestTtlS: number };
  /**
   * Re-checks, inside the transaction that saves a money-moving record, that the
   * user may move money (the users module's USER_FROZEN check under a row lock).
   */
  assertUserCanMoveMoney?: (userId: string, tx: repo.Executor) => Promise<void>;
  /** Risk control (SPEC 6): what a withdrawal must pass, recorded per request. */
  risk: Pick<RiskService, 'assess' | 'release' | 'releaseFor' | 'getDecision'>;
  /** One-time codes for MEDIUM and HIGH risk withdrawals. */
  sms: Pick<SmsService, 'sendCode' | 'verifyCode' | 'sentCode'>;
  /** Called after a card removal commits (its CARD_REMOVED event), e.g. to wake the outbox relay. */
  onCardRemoved?: () => void;
  /** Transaction orders: every recharge and withdrawal opens one and settles it, in the record's transaction. */
  orders: Pick<OrdersService, 'open' | 'settle' | 'startOnce'>;
}

const MAX_PAGE = 100;
const MAX_REMEMBERED_WALLETS = 100_000;
const DEFAULT_PAGE = 20;
const CURSOR = /^(rch|wdr)_[0-9a-z]{1,60}$/;

/**
 * The user center (seed 000's 用户中心): depository accounts, wallets, recharge
 * and withdraw records (the withdrawal flow is `withdrawals`), bound cards and
 * the bill. It asks the depository agent to sign requests (in process, through
 * its index.ts) and hears the bank's outcomes only through the outbox
 * (`handleSettled`).
 */
export class WalletsService {
  readonly currency: CurrencyCode;
  readonly withdrawals: Withdrawals;
  private readonly walletIds = new Map<string, AccountId>();

  constructor(private readonly deps: WalletsDeps) {
    this.currency = currencyCode(deps.depository.currency);
    this.withdrawals = new Withdrawals(deps, {
      currency: this.currency,
      openedAccount: (userId) => this.openedAccount(userId),
      walletIdOf: (userId) => this.walletIdOf(userId),
    });
  }

  // ---- phase 1: signed requests -------------------------------------------------------------

  /**
   * POST /my/depository-accounts: a signed PERSONAL_REGISTER for the bank's
   * hosted page. `retriedFrom` is when a request whose process died first
   * asked, for its retry: the request it prepared, if the bank still takes it.
   */
  async openDepositoryAccount(user: WalletUser, input: { callbackUrl: string }, retriedFrom?: Date): Promise<GatewayRequest> {
    const existing = await repo.findDepositoryAccount(this.deps.db, user.id);
    if (existing?.status === 'OPENED') throw alreadyOpened();
    const prepared = existing && retriedFrom && (await this.deps.agent.reissueNewest('PERSONAL_REGISTER', existing.userNo, retriedFrom));
    if (prepared) return prepared;
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const userNo = existing?.userNo ?? user.id;
      const gateway = await this.deps.agent.prepare(
        'PERSONAL_REGISTER',
        { userNo, currency: this.currency, callbackUrl: input.callbackUrl, mobile: user.mobile },
        trx,
      );
      const requestNo = requestNoOf(gateway);
      // Refused (and the agent's record rolled back with it) if the account opened meanwhile.
      if (!(await repo.upsertOpening(trx, { userId: user.id, userNo, requestNo, now }))) throw alreadyOpened();
      return gateway;
    });
  }

  /**
   * POST /my/cards: a signed BIND_CARD for the bank's hosted page, where the user
   * types the new debit card and their transaction password. The agent's
   * transaction record is the only record (no amount); the bank's SUCCESS binds
   * the card here through the outbox (handleSettled), once per request number.
   * `retriedFrom`: as for openDepositoryAccount.
   */
  async bindCard(user: WalletUser, input: { callbackUrl: string }, retriedFrom?: Date): Promise<GatewayRequest> {
    const account = await this.openedAccount(user.id);
    const prepared = retriedFrom && (await this.deps.agent.reissueNewest('BIND_CARD', account.userNo, retriedFrom));
    return prepared || this.deps.agent.prepare('BIND_CARD', { userNo: account.userNo, currency: this.currency, callbackUrl: input.callbackUrl });
  }

  /**
   * DELETE /my/cards/{id}: removes one of the user's own cards (another user's
   * id is CARD_NOT_FOUND, as if it did not exist). Refused with CARD_IN_USE while
   * a PENDING withdrawal pays out to it. The row stays (removed_at), so a late
   * notification of the request that bound it cannot bring it back; the bank is
   * told through the outbox (CARD_REMOVED -> the agent's UNBIND_CARD).
   */
  async removeCard(user: WalletUser, cardId: string): Promise<void> {
    const account = await repo.findDepositoryAccount(this.deps.db, user.id);
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const card = account ? await repo.lockActiveCard(trx, { userId: user.id, id: cardId }, 'update') : undefined;
      if (!account || !card) throw new DomainError('CARD_NOT_FOUND', `You have no bound card ${cardId} (GET /my/cards)`);
      if (await repo.hasPendingWithdrawTo(trx, user.id, card.cardNumberMasked)) {
        throw new DomainError('CARD_IN_USE', `A withdrawal to ${card.cardNumberMasked} is still in progress; remove the card once it has finished`);
      }
      if (!(await repo.markCardRemoved(trx, card.id, now))) throw new DomainError('CARD_NOT_FOUND', `You have no bound card ${cardId}`);
      const event: CardRemovedEvent = {
        cardId: card.id,
        userId: user.id,
        userNo: account.userNo,
        cardNumberMasked: card.cardNumberMasked,
        removedAt: now.toISOString(),
      };
      await publish(trx, { topic: CARD_REMOVED, key: card.id, payload: event });
    });
    this.deps.onCardRemoved?.();
  }

  /**
   * POST /my/recharge-records: saves a PENDING recharge and returns the signed
   * RECHARGE request. `clientKey` (the request's Idempotency-Key) names its
   * order: a retry whose first answer was lost gets the same signed request.
   */
  async createRecharge(user: WalletUser, input: { amount: string; callbackUrl: string }, clientKey?: string): Promise<GatewayRequest> {
    const account = await this.openedAccount(user.id);
    const walletId = await this.walletIdOf(user.id);
    const amountMinor = parseMoney(input.amount, this.currency).amountMinor;
    const asked = { userId: user.id, type: 'RECHARGE_BANK', currency: this.currency, amountMinor, clientKey } as const;
    const start = () => this.startRecharge(account, walletId, input.callbackUrl, asked);
    return this.deps.orders.startOnce(asked, start, async (order) => {
      const gateway = await this.deps.agent.reissue(order.serialNo);
      if (!gateway) throw new Error(`recharge order ${order.id} has no depository request`);
      return gateway;
    });
  }

  private startRecharge(account: DepositoryAccount, walletId: AccountId, callbackUrl: string, asked: KeyedRequest): Promise<GatewayRequest> {
    const { userId, amountMinor } = asked;
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      await this.deps.assertUserCanMoveMoney?.(userId, trx);
      const gateway = await this.deps.agent.prepare('RECHARGE', { userNo: account.userNo, amountMinor, currency: this.currency, callbackUrl }, trx);
      const requestNo = requestNoOf(gateway);
      await this.deps.orders.open({ ...asked, serialNo: requestNo, accountId: walletId, transferIds: [rechargeId(requestNo)] }, trx);
      await repo.insertRecharge(trx, {
        id: newId('rch'),
        userId,
        requestNo,
        amountMinor,
        currency: this.currency,
        status: 'PENDING',
        errorCode: null,
        createdAt: now,
        updatedAt: now,
      });
      return gateway;
    });
  }

  // ---- reads ---------------------------------------------------------------------------------

  async wallets(userId: string): Promise<Account[]> {
    return (await this.deps.ledger.accountsOf('USER', userId)).filter((account) => account.type === 'WALLET');
  }

  /** The bill: entries of the user's wallet in the depository currency, newest first. */
  async entries(userId: string, page: { limit?: number; startingAfter?: string }): Promise<Page<Entry>> {
    const wallet = await this.deps.ledger.findAccount({ ownerKind: 'USER', ownerId: userId, type: 'WALLET', currency: this.currency });
    if (!wallet) return { data: [], hasMore: false };
    return this.deps.ledger.entries(wallet.id, {
      limit: pageSize(page.limit),
      ...(page.startingAfter !== undefined ? { startingAfter: page.startingAfter } : {}),
    });
  }

  rechargeRecords(userId: string, page: { limit?: number; startingAfter?: string }): Promise<Page<RechargeRecord>> {
    return paged(page, (limit, after) => repo.listRecharges(this.deps.db, userId, limit, after));
  }

  withdrawRecords(userId: string, page: { limit?: number; startingAfter?: string }): Promise<Page<WithdrawRecord>> {
    return paged(page, (limit, after) => repo.listWithdraws(this.deps.db, userId, limit, after));
  }

  cards(userId: string): Promise<BoundCard[]> {
    return repo.listCards(this.deps.db, userId);
  }

  depositoryAccount(userId: string): Promise<DepositoryAccount | undefined> {
    return repo.findDepositoryAccount(this.deps.db, userId);
  }

  // ---- phase 3: the bank's outcome, from the outbox ------------------------------------------

  /**
   * Consumer of DEPOSITORY_SETTLED, a delivery wave at a time (each message about
   * another request number). Delivery is at least once, so every step is
   * idempotent: ledger transfers are keyed on the request number, and records
   * move only out of PENDING (a replay finds them final and does nothing). The
   * wave's ledger calls run together so they share group commits, and its
   * records move in one statement per kind.
   */
  async handleSettled(messages: OutboxMessage<DepositorySettledEvent>[]): Promise<ItemResult<void>[]> {
    const events = messages.map((message) => message.payload);
    const requestNos = (service: string) => events.filter((e) => e.serviceName === service).map((e) => e.requestNo);
    const [recharges, withdraws] = await Promise.all([
      repo.findRecordsByRequestNo(this.deps.db, 'recharge', requestNos('RECHARGE')),
      repo.findRecordsByRequestNo(this.deps.db, 'withdraw', requestNos('WITHDRAW')),
    ]);
    const records = new Map<string, RechargeRecord | WithdrawRecord>([...recharges, ...withdraws].map((r) => [r.requestNo, r]));
    const moved = await Promise.all(events.map((event) => settleItem(() => this.moveMoney(event, records.get(event.requestNo)))));

    const settlements = { recharge: [] as repo.RecordSettlement[], withdraw: [] as repo.RecordSettlement[] };
    for (const result of moved) if (result.ok && result.value) settlements[result.value.kind].push(result.value.settlement);
    crashPoint('wallets.after-ledger-before-record');
    const now = this.deps.clock.now();
    await Promise.all(
      (['recharge', 'withdraw'] as const).map(async (kind) => {
        if (settlements[kind].length === 0) return;
        // The record and its transaction order move together.
        const done = await this.deps.db.transaction().execute(async (trx) => {
          const moved = await repo.settleRecords(trx, kind, settlements[kind], now);
          await this.deps.orders.settle(settlements[kind].filter((s) => moved.has(s.requestNo)).map((s) => orderSettlement(kind, s)), trx);
          return moved;
        });
        for (const { requestNo } of settlements[kind]) {
          if (!done.has(requestNo)) this.deps.logger.info({ requestNo, kind }, 'record was already settled by an earlier delivery');
        }
      }),
    );
    return moved.map((result) => (result.ok ? { ok: true, value: undefined } : result));
  }

  /** Applies one event's money movement; answers the record move it calls for, if any. */
  private async moveMoney(
    event: DepositorySettledEvent,
    record: RechargeRecord | WithdrawRecord | undefined,
  ): Promise<{ kind: RecordKind; settlement: repo.RecordSettlement } | undefined> {
    if (event.serviceName === 'PERSONAL_REGISTER') {
      await this.accountOpeningSettled(event);
      return undefined;
    }
    if (event.serviceName === 'BIND_CARD') {
      await this.cardBindingSettled(event);
      return undefined;
    }
    const kind: RecordKind = event.serviceName === 'RECHARGE' ? 'recharge' : 'withdraw';
    if (!record) throw new Error(`no ${kind} record for request ${event.requestNo}`);
    this.assertSameAmount(record, event);
    if (this.alreadyFinal(record, event, kind)) return undefined;
    assertTransition(record.status, event.status);
    if (kind === 'recharge') await this.rechargeSettled(record, event);
    else await this.withdrawals.settled(record as WithdrawRecord, event);
    return { kind, settlement: { requestNo: record.requestNo, status: event.status, errorCode: event.status === 'FAILED' ? (event.errorCode ?? 'FAILED') : null } };
  }

  private async accountOpeningSettled(event: DepositorySettledEvent): Promise<void> {
    const account = await repo.findDepositoryAccountByUserNo(this.deps.db, event.userNo);
    if (!account) throw new Error(`no depository account for userNo ${event.userNo} (request ${event.requestNo})`);
    if (event.status !== 'SUCCEEDED') {
      this.deps.logger.info({ requestNo: event.requestNo, errorCode: event.errorCode }, 'depository account opening failed at the bank');
      return;
    }
    // The wallet first: whoever sees the account OPENED can rely on the wallet existing.
    await this.ensureWallet(account.userId, currencyCode(event.currency));
    const now = this.deps.clock.now();
    const card = event.cardNumberMasked ? maskCardNumber(event.cardNumberMasked) : null;
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.markOpened(trx, { userNo: event.userNo, cardNumberMasked: card, bankCode: event.bankCode, now });
      if (card) {
        await repo.insertCard(trx, {
          id: newId('card'),
          userId: account.userId,
          cardNumberMasked: card,
          bankCode: event.bankCode,
          requestNo: event.requestNo,
          createdAt: now,
        });
      }
    });
  }

  /** BIND_CARD's outcome: SUCCESS binds the card, once per request number (bound_cards.request_no is unique). */
  private async cardBindingSettled(event: DepositorySettledEvent): Promise<void> {
    const account = await repo.findDepositoryAccountByUserNo(this.deps.db, event.userNo);
    if (!account) throw new Error(`no depository account for userNo ${event.userNo} (request ${event.requestNo})`);
    if (event.status !== 'SUCCEEDED') {
      this.deps.logger.info({ requestNo: event.requestNo, errorCode: event.errorCode }, 'binding a card failed at the bank');
      return;
    }
    if (!event.cardNumberMasked) throw new Error(`BIND_CARD ${event.requestNo} succeeded without a card number`);
    const bound = await repo.insertCard(this.deps.db, {
      id: newId('card'),
      userId: account.userId,
      cardNumberMasked: maskCardNumber(event.cardNumberMasked),
      bankCode: event.bankCode,
      requestNo: event.requestNo,
      createdAt: this.deps.clock.now(),
    });
    if (!bound) this.deps.logger.info({ requestNo: event.requestNo }, 'card binding already recorded (a redelivered event)');
  }

  private async ensureWallet(userId: string, currency: CurrencyCode): Promise<Account> {
    const owner = { ownerKind: 'USER' as const, ownerId: userId, type: 'WALLET' as const, currency };
    const found = await this.deps.ledger.findAccount(owner);
    if (found) return found;
    try {
      return await this.deps.ledger.openAccount(owner);
    } catch (err) {
      if (!isDomainError(err, 'ACCOUNT_ALREADY_EXISTS')) throw err;
      return (await this.deps.ledger.findAccount(owner))!;
    }
  }

  private async rechargeSettled(record: RechargeRecord, event: DepositorySettledEvent): Promise<void> {
    if (event.status !== 'SUCCEEDED') return;
    const [walletId, clearingId] = await Promise.all([
      this.walletIdOf(record.userId),
      this.deps.ledger.platformAccountId('DEPOSITORY_CLEARING', record.currency),
    ]);
    await this.deps.ledger.transfer({
      id: rechargeId(record.requestNo),
      debitAccountId: clearingId,
      creditAccountId: walletId,
      amountMinor: record.amountMinor,
      currency: record.currency,
      code: 'recharge',
      reference: record.requestNo,
    });
  }

  /** True when a replay finds the record already final; a contradiction is logged and ignored. */
  private alreadyFinal(record: RechargeRecord, event: DepositorySettledEvent, kind: RecordKind): boolean {
    if (record.status === 'PENDING') return false;
    if (record.status !== event.status) {
      this.deps.logger.error({ requestNo: record.requestNo, kind, recorded: record.status, event: event.status }, 'settled event contradicts a final record; ignored');
    }
    return true;
  }

  /** The agent's amount is what left the virtual account: for a withdrawal, amount + fee. */
  private assertSameAmount(record: RechargeRecord | WithdrawRecord, event: DepositorySettledEvent): void {
    const eventMinor = event.amount === null ? null : parseMoney(event.amount, currencyCode(event.currency)).amountMinor;
    const expected = record.amountMinor + ('feeMinor' in record ? record.feeMinor : 0n);
    if (eventMinor !== expected || event.currency !== record.currency) {
      throw new Error(`depository.settled for ${record.requestNo} disagrees with the record on the amount`);
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private async openedAccount(userId: string): Promise<DepositoryAccount> {
    const account = await repo.findDepositoryAccount(this.deps.db, userId);
    if (account?.status !== 'OPENED') {
      throw new DomainError(
        'ACCOUNT_NOT_OPENED',
        account
          ? 'Your depository account is not open yet: finish opening it at the bank (POST /my/depository-accounts) first'
          : 'You have no depository account yet: open one first (POST /my/depository-accounts), then recharge or withdraw',
      );
    }
    return account;
  }

  /** A wallet's account id never changes, so it is remembered once found (in a bounded map). */
  private async walletIdOf(userId: string): Promise<AccountId> {
    const cached = this.walletIds.get(userId);
    if (cached) return cached;
    const wallet = await this.deps.ledger.findAccount({ ownerKind: 'USER', ownerId: userId, type: 'WALLET', currency: this.currency });
    if (!wallet) throw new DomainError('ACCOUNT_NOT_OPENED', `You have no ${this.currency} wallet yet: open a depository account first`);
    if (this.walletIds.size >= MAX_REMEMBERED_WALLETS) this.walletIds.clear();
    this.walletIds.set(userId, wallet.id);
    return wallet.id;
  }

}

function alreadyOpened(): DomainError {
  return new DomainError('ACCOUNT_ALREADY_OPENED', 'Your depository account is already open');
}

function requestNoOf(gateway: GatewayRequest): string {
  return (JSON.parse(gateway.reqData) as { requestNo: string }).requestNo;
}

function rechargeId(requestNo: string): string {
  return `recharge:${requestNo}`;
}

function orderSettlement(kind: RecordKind, s: repo.RecordSettlement): OrderSettlement {
  return { type: kind === 'recharge' ? 'RECHARGE_BANK' : 'WITHDRAW', serialNo: s.requestNo, status: s.status as OrderSettlement['status'], errorCode: s.errorCode };
}

/**
 * At most the first four and last four digits ever show, whatever the bank sent
 * (the bank's own masking, 6222********0123, passes unchanged, so the bank can
 * match it back to the card when a withdrawal names it).
 */
export function maskCardNumber(card: string): string {
  const digits = card.replace(/\D/g, '').length;
  let seen = 0;
  return card
    .replace(/\d/g, (digit) => {
      seen += 1;
      return seen <= 4 || seen > digits - 4 ? digit : '*';
    })
    .slice(0, 64);
}

function pageSize(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
}

async function paged<T>(page: { limit?: number; startingAfter?: string }, list: (limit: number, after?: string) => Promise<T[]>): Promise<Page<T>> {
  if (page.startingAfter !== undefined && !CURSOR.test(page.startingAfter)) {
    throw new DomainError('VALIDATION_FAILED', 'startingAfter must be the id of a record from the previous page');
  }
  const limit = pageSize(page.limit);
  const rows = await list(limit + 1, page.startingAfter);
  return { data: rows.slice(0, limit), hasMore: rows.length > limit };
}

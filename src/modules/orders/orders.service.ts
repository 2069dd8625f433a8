import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import type { Entry, LedgerService, Page, Transfer } from '../ledger/index.ts';
import * as repo from './orders.repository.ts';
import {
  type OpenOrderInput,
  type OrderSettlement,
  type OrderStatus,
  orderStatuses,
  type OrderType,
  orderTypes,
  type TransactionOrder,
} from './orders.types.ts';

export interface OrdersDeps {
  db: repo.Executor;
  clock: Clock;
  ledger: Pick<LedgerService, 'accountsOf' | 'transfersWithEntries'>;
}

/** What a keyed request asks for: a found order that differs is another request's (IDEMPOTENCY_KEY_REUSED). */
export interface KeyedRequest extends Pick<TransactionOrder, 'userId' | 'type' | 'currency' | 'amountMinor'> {
  clientKey: string | undefined;
}

export interface OrderDetail {
  order: TransactionOrder;
  transfers: Transfer[];
  /** What the order's transfers did on the user's own accounts. */
  entries: Entry[];
}

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

/** Thrown by open() when the user's Idempotency-Key names an order already: roll back and resume that one. */
export class ClientKeyTaken extends Error {
  constructor() {
    super('an order holds this Idempotency-Key already');
  }
}

/** A fresh order id, for a caller that must name the order (e.g. to the payment core) before opening it. */
export function newOrderId(): string {
  return newId('ord');
}

/**
 * Transaction orders (seed 002's 交易訂單). The modules that carry money
 * requests out open and settle them inside their own transactions, through
 * this module's index; users list and read them.
 */
export class OrdersService {
  constructor(private readonly deps: OrdersDeps) {}

  /**
   * In the caller's transaction. Idempotent on (type, serialNo): a retried
   * request keeps its first order. Throws ClientKeyTaken when the user has an
   * order under `input.clientKey` already (another request with that key,
   * still running after its lease ran out, committed first): startOnce rolls
   * the caller back and resumes that order.
   */
  async open(input: OpenOrderInput, trx: repo.Executor): Promise<TransactionOrder> {
    const now = this.deps.clock.now();
    const order: TransactionOrder = {
      id: input.id ?? newOrderId(),
      userId: input.userId,
      currency: input.currency,
      amountMinor: input.amountMinor,
      type: input.type,
      serialNo: input.serialNo,
      status: 'PENDING',
      errorCode: null,
      accountId: input.accountId,
      transferIds: input.transferIds,
      transactedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    if (await repo.insertOrder(trx, order, input.clientKey ?? null)) return order;
    const earlier = await repo.findBySerial(trx, input.type, input.serialNo);
    if (!earlier) throw new ClientKeyTaken();
    return earlier;
  }

  /**
   * The order the request with this Idempotency-Key opened, if any. The key may
   * come back after the idempotency layer forgot it: an order that is not what
   * this request asks for is IDEMPOTENCY_KEY_REUSED, never another's answer.
   */
  private async byClientKey(userId: string, clientKey: string, asked: KeyedRequest): Promise<TransactionOrder | undefined> {
    const order = await repo.findByClientKey(this.deps.db, userId, clientKey);
    if (order && (order.type !== asked.type || order.currency !== asked.currency || order.amountMinor !== asked.amountMinor)) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', `This Idempotency-Key opened another request (order ${order.id}); use a new key for a new request`);
    }
    return order;
  }

  /**
   * A user's money request made at most once per Idempotency-Key: `resume`
   * answers for the order the key opened already (its process died before
   * its answer was stored, or is still running past its lease and committed
   * first); otherwise `start` runs, opening its order with `asked.clientKey`.
   */
  async startOnce<T>(asked: KeyedRequest, start: () => Promise<T>, resume: (order: TransactionOrder) => Promise<T>): Promise<T> {
    const { userId, clientKey } = asked;
    if (!clientKey) return start();
    const earlier = await this.byClientKey(userId, clientKey, asked);
    if (earlier) return resume(earlier);
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof ClientKeyTaken)) throw err;
      return resume((await this.byClientKey(userId, clientKey, asked))!);
    }
  }

  /**
   * PENDING -> SUCCEEDED | FAILED, in the caller's transaction when it gives
   * one. Guarded in SQL: an order already final (a replayed outcome) does not
   * move again. Answers the `type:serialNo` keys that moved.
   */
  settle(settlements: OrderSettlement[], trx: repo.Executor = this.deps.db): Promise<Set<string>> {
    return repo.settleOrders(trx, settlements, this.deps.clock.now());
  }

  /** In the caller's transaction: the order of a request refused at once (bad input changes nothing) goes with it. */
  discard(type: OrderType, serialNo: string, trx: repo.Executor): Promise<boolean> {
    return repo.deletePending(trx, type, serialNo);
  }

  async find(type: OrderType, serialNo: string): Promise<TransactionOrder | undefined> {
    return repo.findBySerial(this.deps.db, type, serialNo);
  }

  async orderOf(userId: string, id: string): Promise<TransactionOrder> {
    const order = isId(id, 'ord') ? await repo.findOrder(this.deps.db, id) : undefined;
    if (!order || order.userId !== userId) throw new DomainError('ORDER_NOT_FOUND', `You have no transaction order ${id}`);
    return order;
  }

  /** The order with the ledger transfers it made and their entries on the user's accounts. */
  async detail(userId: string, id: string): Promise<OrderDetail> {
    const order = await this.orderOf(userId, id);
    const accounts = await this.deps.ledger.accountsOf('USER', userId);
    const { transfers, entries } = await this.deps.ledger.transfersWithEntries(order.transferIds, accounts.map((a) => a.id));
    return { order, transfers, entries };
  }

  async list(
    userId: string,
    query: { status?: string | undefined; type?: string | undefined; currency?: string | undefined; limit?: number | undefined; startingAfter?: string | undefined },
  ): Promise<Page<TransactionOrder>> {
    if (query.status !== undefined && !orderStatuses.includes(query.status as OrderStatus)) {
      throw new DomainError('VALIDATION_FAILED', `status must be one of ${orderStatuses.join(', ')}`);
    }
    if (query.type !== undefined && !orderTypes.includes(query.type as OrderType)) {
      throw new DomainError('VALIDATION_FAILED', `type must be one of ${orderTypes.join(', ')}`);
    }
    if (query.startingAfter !== undefined && !isId(query.startingAfter, 'ord')) {
      throw new DomainError('VALIDATION_FAILED', 'startingAfter must be the id of an order from the previous page');
    }
    const limit = Math.min(Math.max(query.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const rows = await repo.listOrders(this.deps.db, {
      userId,
      status: query.status as OrderStatus | undefined,
      type: query.type as OrderType | undefined,
      currency: query.currency,
      startingAfter: query.startingAfter,
      limit: limit + 1,
    });
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }
}

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

export interface OrderDetail {
  order: TransactionOrder;
  transfers: Transfer[];
  /** What the order's transfers did on the user's own accounts. */
  entries: Entry[];
}

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

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

  /** In the caller's transaction. Idempotent on (type, serialNo): a retried request keeps its first order. */
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
    if (await repo.insertOrder(trx, order)) return order;
    return (await repo.findBySerial(trx, input.type, input.serialNo))!;
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

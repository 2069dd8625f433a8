/**
 * Transaction orders (seed 002's 交易訂單): the whole public surface. A module
 * that carries out a user's money request, inside its own transaction:
 *
 *   await orders.open({ type: 'WITHDRAW', serialNo: requestNo, userId, currency, amountMinor, accountId, transferIds }, trx);
 *   await orders.settle([{ type: 'WITHDRAW', serialNo: requestNo, status: 'SUCCEEDED' }], trx);   // guarded: once
 */
export { ClientKeyTaken, OrdersService, newOrderId, type KeyedRequest, type OrderDetail, type OrdersDeps } from './orders.service.ts';
export { ordersHttpModule } from './orders.routes.ts';
export { ordersMigrations } from './orders.migrations.ts';
export { orderView, orderDetailView } from './orders.views.ts';
export { OrderView } from './orders.schemas.ts';
export { orderStatuses, orderTypes, type OrderSettlement, type OrderStatus, type OrderType, type TransactionOrder } from './orders.types.ts';

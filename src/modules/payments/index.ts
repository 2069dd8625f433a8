/**
 * The payment core's whole public surface (SPEC 8, seed 004; README.md beside this file).
 *
 * For a business module, inside its own transaction:
 *
 *   const { payOrderNo } = await payments.createPayment({ businessType: 'SUBSCRIPTION', businessOrderNo: sub.id, userId,
 *     amountMinor, currency, creditAccountId, transferCode: 'subscription', description, expiresAt }, trx);
 *   relay.subscribe<PaymentFinalEvent>(PAYMENT_FINAL, 'products.payment-final', (m) => ...);   // SUCCESS | FAIL, at least once
 *   await payments.cancel(payOrderNo, 'order expired');   // 'FAIL' | 'SUCCESS' (too late) | 'DOING' (ask again later)
 */
export { PaymentsService, type PaymentsDeps, type PaymentsOptions } from './payments.service.ts';
export { paymentsHttpModule } from './payments.routes.ts';
export { paymentsMigrations } from './payments.migrations.ts';
export { paymentView, type PaymentView } from './payments.views.ts';
export { PaymentView as PaymentViewSchema } from './payments.schemas.ts';
export { paymentTransferIds } from './payments.confirm.ts';
export { reportingConnector } from './payments.channels.ts';
export { HttpChannelConnector, type ChannelConnector, type ChannelCallOutcome } from './payments.connector.ts';
export type { Sealer } from './payments.cards.ts';
export {
  PAYMENT_FINAL,
  businessTypes,
  paymentStatuses,
  paymentTransitions,
  type BusinessType,
  type ChannelDebit,
  type CreatePaymentInput,
  type PaymentFinalEvent,
  type PaymentStatus,
  type PayOrderNo,
} from './payments.types.ts';

/**
 * The savings products module's whole public surface (SPEC 7, seed 001;
 * README.md beside this file).
 */
export { ProductsService, type ProductsDeps, type ProductInput, type Quote } from './products.service.ts';
export { productsHttpModule } from './products.routes.ts';
export { productsMigrations } from './products.migrations.ts';
export { productView, holdingView, quoteView, type HoldingView } from './products.views.ts';
export { interestMinor, earnedMinor, scheduleFor, formatRatePercent, parseRatePercent, dayCounts, type DayCount } from './products.interest.ts';
export {
  productStatuses,
  productTransitions,
  subscriptionTransitions,
  subscriptionStatuses,
  type PaymentFinalNotice,
  type PaymentsPort,
  type PayWith,
  type Product,
  type ProductId,
  type ProductStatus,
  type Subscription,
  type SubscriptionId,
  type SubscriptionStatus,
} from './products.types.ts';

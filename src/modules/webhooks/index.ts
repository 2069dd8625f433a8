/**
 * The webhooks module's whole public surface (SPEC 5; README.md beside this file).
 *
 * For a module announcing a final status, in its own transaction:
 *
 *   await webhooks.record(trx, { merchantId, type: 'payout.succeeded', data: payoutView, resourceUpdatedAt: payoutView.updated, sourceKey });
 *
 * or publish PAYOUT_FINAL on the outbox (`PayoutFinalMessage`), which main.ts hands to `payoutFinalConsumer`.
 */
export { WebhooksService, DEFAULT_WEBHOOKS_OPTIONS, type RecordInput, type WebhooksDeps, type WebhooksOptions } from './webhooks.service.ts';
export { webhooksHttpModule } from './webhooks.routes.ts';
export { webhooksMigrations } from './webhooks.migrations.ts';
export { payoutFinalToWebhook, payoutFinalConsumer, type PayoutFinalMessage } from './webhooks.payouts.ts';
export { verifyWebhookSignature, signWebhook, type WebhookVerification, type VerifyOptions } from './verify.ts';
export { nextStep, parseRetryAfter, type RetrySchedule } from './webhooks.schedule.ts';
export {
  eventTypes,
  deliveryStatuses,
  deliveryTransitions,
  canTransition,
  type DeliveryStatus,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEvent,
  type WebhookEventType,
} from './webhooks.types.ts';

import type { Executor } from './webhooks.repository.ts';
import type { RecordInput, WebhooksService } from './webhooks.service.ts';

/**
 * The payload expected on the payouts module's PAYOUT_FINAL outbox topic. `payout` is the payout as the API
 * shows it (`GET /v1/payouts/{id}`); it must carry `id` and `updated` (ISO-8601).
 */
export interface PayoutFinalMessage {
  merchantId: string;
  status: 'SUCCEEDED' | 'FAILED' | 'REVERSED';
  payout: { id: string; updated: string } & Record<string, unknown>;
}

const typeOf = {
  SUCCEEDED: 'payout.succeeded',
  FAILED: 'payout.failed',
  REVERSED: 'payout.reversed',
} as const;

/**
 * Maps a PAYOUT_FINAL payload to the event to record. One event per (payout,
 * final status): a redelivered message (same payout, same status) records
 * nothing new, while a later REVERSED after SUCCEEDED is an event of its own.
 */
export function payoutFinalToWebhook(message: PayoutFinalMessage): RecordInput {
  const type = typeOf[message.status];
  if (!type) throw new Error(`payout.final carries an unknown status ${String(message.status)}`);
  if (typeof message.payout?.id !== 'string' || typeof message.payout.updated !== 'string') {
    throw new Error('payout.final must carry payout.id and payout.updated');
  }
  return {
    merchantId: message.merchantId,
    type,
    data: message.payout,
    resourceUpdatedAt: message.payout.updated,
    sourceKey: `payout:${message.payout.id}:${message.status}`,
  };
}

/** The outbox consumer: records the event in its own transaction (idempotent by sourceKey). */
export function payoutFinalConsumer(db: Executor, webhooks: WebhooksService) {
  return async (message: { payload: PayoutFinalMessage }): Promise<void> => {
    const input = payoutFinalToWebhook(message.payload);
    await db.transaction().execute((trx) => webhooks.record(trx, input));
  };
}

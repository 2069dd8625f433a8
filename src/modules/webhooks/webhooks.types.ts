/** Webhooks (SPEC 5): endpoints, events, deliveries and their attempts. */

export const eventTypes = ['payout.succeeded', 'payout.failed', 'payout.reversed', 'payout_batch.processed'] as const;
export type WebhookEventType = (typeof eventTypes)[number];

export const deliveryStatuses = ['PENDING', 'DELIVERED', 'DEAD', 'CANCELLED'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/**
 * The delivery state machine as data. PENDING -> PENDING (a failed attempt,
 * retried later) is not a move of status. A resend of a DEAD delivery puts it
 * back to PENDING for the one attempt; a resend of a DELIVERED one records an
 * attempt and stays DELIVERED. CANCELLED: its endpoint was deleted.
 */
export const deliveryTransitions: Record<DeliveryStatus, readonly DeliveryStatus[]> = {
  PENDING: ['DELIVERED', 'DEAD', 'CANCELLED'],
  DEAD: ['PENDING', 'CANCELLED'],
  DELIVERED: [],
  CANCELLED: [],
};

export function canTransition(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return deliveryTransitions[from].includes(to);
}

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  url: string;
  createdAt: Date;
}

export interface WebhookEvent {
  id: string;
  merchantId: string;
  type: WebhookEventType;
  /** The exact JSON body sent: `{"id", "type", "created", "data"}`. */
  body: string;
  resourceUpdatedAt: Date;
  createdAt: Date;
}

export interface WebhookAttempt {
  attempt: number;
  at: Date;
  durationMs: number;
  httpStatus: number | null;
  error: string | null;
  responseBody: string | null;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: WebhookEventType;
  endpointId: string;
  merchantId: string;
  url: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Date | null;
  giveUpAt: Date;
  deliveredAt: Date | null;
  createdAt: Date;
  attempts: WebhookAttempt[];
}

import type { LookupFunction } from 'node:net';
import { internalLiteralOf, type Lookup, refusingInternal } from './webhooks.address.ts';
import { type PostOutcome, postOnce } from './webhooks.transport.ts';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../merchants/index.ts';
import * as repo from './webhooks.repository.ts';
import type { ClaimedDelivery, Executor } from './webhooks.repository.ts';
import { nextStep, parseRetryAfter, type RetrySchedule } from './webhooks.schedule.ts';
import { signWebhook } from './verify.ts';
import { eventTypes, type DeliveryStatus, type WebhookAttempt, type WebhookDelivery, type WebhookEndpoint, type WebhookEventType } from './webhooks.types.ts';
import { crashPoint } from '../../platform/faults.ts';

export interface WebhooksOptions extends RetrySchedule {
  /** One attempt's whole time: connect, send, answer. */
  timeoutMs: number;
  /** How long a rotated-out secret still signs deliveries. */
  rotationOverlapMs: number;
  /** Deliveries claimed per job run (sent concurrently). */
  claimBatch: number;
  maxEndpointsPerMerchant: number;
  /** Response bodies kept per attempt, in characters. */
  responseBodyChars: number;
  /** Endpoints may be internal addresses (loopback, private, link-local); refused when false (webhooks.address.ts). */
  allowInternalAddresses: boolean;
}

export const DEFAULT_WEBHOOKS_OPTIONS: WebhooksOptions = {
  timeoutMs: 10_000,
  baseDelayMs: 10_000,
  maxDelayMs: 60 * 60 * 1000,
  windowMs: 24 * 60 * 60 * 1000,
  maxRetryAfterMs: 60 * 60 * 1000,
  scale: 1,
  rotationOverlapMs: 24 * 60 * 60 * 1000,
  claimBatch: 20,
  maxEndpointsPerMerchant: 16,
  responseBodyChars: 1024,
  allowInternalAddresses: false,
};

export interface WebhooksDeps {
  db: Executor;
  clock: Clock;
  secrets: SecretBox;
  options?: Partial<WebhooksOptions>;
  /** How receivers' host names resolve (the system's DNS unless a test answers instead). */
  resolve?: Lookup;
}

export interface RecordInput {
  merchantId: string;
  type: WebhookEventType;
  /** The object as the API shows it (it should carry its `updated` time). */
  data: Record<string, unknown>;
  resourceUpdatedAt: Date | string;
  /** What makes this event one: the same key again records nothing (e.g. `payout:<id>:SUCCEEDED`). */
  sourceKey: string;
}

const MAX_URL_LENGTH = 2048;
const MAX_BATCHES_PER_RUN = 10;

/** Webhooks (SPEC 5): the module's one service. README.md beside this file has the state machine and schedule. */
export class WebhooksService {
  private readonly db: Executor;
  private readonly clock: Clock;
  private readonly box: SecretBox;
  readonly options: WebhooksOptions;
  private readonly connectLookup: LookupFunction;

  constructor(deps: WebhooksDeps) {
    this.db = deps.db;
    this.clock = deps.clock;
    this.box = deps.secrets;
    this.options = { ...DEFAULT_WEBHOOKS_OPTIONS, ...deps.options };
    this.connectLookup = refusingInternal(deps.resolve);
    // An attempt's lease must outlast the attempt, or another process could take it while it is still under way.
    if (this.leaseMs() <= this.options.timeoutMs) throw new Error('webhook lease must exceed the timeout');
  }

  private leaseMs(): number {
    return this.options.timeoutMs * 2 + 5_000;
  }

  // ---- endpoints ---------------------------------------------------------------------------------

  async createEndpoint(merchantId: string, url: string): Promise<WebhookEndpoint & { secret: string }> {
    const checked = validUrl(url);
    if (!this.options.allowInternalAddresses) assertNotInternalLiteral(checked);
    return this.db.transaction().execute(async (trx) => {
      if ((await repo.countActiveEndpoints(trx, merchantId)) >= this.options.maxEndpointsPerMerchant) {
        throw new DomainError('WEBHOOK_ENDPOINT_LIMIT', `A merchant may have at most ${this.options.maxEndpointsPerMerchant} webhook endpoints`);
      }
      const now = this.clock.now();
      const endpoint: WebhookEndpoint = { id: newId('whe'), merchantId, url: checked, createdAt: now };
      await repo.insertEndpoint(trx, endpoint);
      const secret = await this.addSecret(trx, endpoint.id, now);
      return { ...endpoint, secret };
    });
  }

  listEndpoints(merchantId: string): Promise<WebhookEndpoint[]> {
    return repo.listActiveEndpoints(this.db, merchantId);
  }

  async deleteEndpoint(merchantId: string, id: string): Promise<void> {
    const deleted = await this.db.transaction().execute((trx) => repo.deleteEndpoint(trx, merchantId, id, this.clock.now()));
    if (!deleted) throw new DomainError('WEBHOOK_ENDPOINT_NOT_FOUND');
  }

  /** A new secret, in this answer only; the previous one keeps signing too for `rotationOverlapMs`. */
  async rotateSecret(merchantId: string, id: string): Promise<WebhookEndpoint & { secret: string; previousSecretExpiresAt: Date }> {
    return this.db.transaction().execute(async (trx) => {
      const endpoint = await repo.findActiveEndpoint(trx, merchantId, id);
      if (!endpoint) throw new DomainError('WEBHOOK_ENDPOINT_NOT_FOUND');
      const now = this.clock.now();
      const previousSecretExpiresAt = new Date(now.getTime() + this.options.rotationOverlapMs);
      await repo.expireCurrentSecrets(trx, id, previousSecretExpiresAt);
      const secret = await this.addSecret(trx, id, now);
      return { ...endpoint, secret, previousSecretExpiresAt };
    });
  }

  private async addSecret(trx: Executor, endpointId: string, now: Date): Promise<string> {
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const id = newId('whs');
    await repo.insertSecret(trx, { id, endpointId, sealed: this.box.seal(secret, id), createdAt: now });
    return secret;
  }

  // ---- events ------------------------------------------------------------------------------------

  /**
   * In the caller's transaction: one event per `sourceKey` and one delivery per
   * active endpoint of the merchant. A second call with the same sourceKey (a
   * redelivered outbox message) records nothing and returns the first event's id.
   */
  async record(trx: Executor, input: RecordInput): Promise<{ eventId: string; created: boolean }> {
    if (!eventTypes.includes(input.type)) throw new Error(`unknown webhook event type ${input.type}`);
    const existing = await repo.findEventBySourceKey(trx, input.sourceKey);
    if (existing) return { eventId: existing.id, created: false };
    const now = this.clock.now();
    const id = newId('evt');
    const body = JSON.stringify({ id, type: input.type, created: now.toISOString(), data: input.data });
    const resourceUpdatedAt = new Date(input.resourceUpdatedAt);
    if (Number.isNaN(resourceUpdatedAt.getTime())) throw new Error('resourceUpdatedAt is not a time');
    const inserted = await repo.insertEvent(trx, {
      id,
      merchantId: input.merchantId,
      type: input.type,
      body,
      resourceUpdatedAt,
      createdAt: now,
      sourceKey: input.sourceKey,
    });
    if (inserted === undefined) {
      // Recorded meanwhile by a concurrent transaction that committed first.
      return { eventId: (await repo.findEventBySourceKey(trx, input.sourceKey))!.id, created: false };
    }
    const giveUpAt = new Date(now.getTime() + this.options.windowMs * this.options.scale);
    const endpoints = await repo.listActiveEndpoints(trx, input.merchantId);
    await repo.insertDeliveries(
      trx,
      endpoints.map((endpoint) => ({ id: newId('whd'), eventId: id, endpointId: endpoint.id, merchantId: input.merchantId, now, giveUpAt })),
    );
    return { eventId: id, created: true };
  }

  // ---- delivery ----------------------------------------------------------------------------------

  /**
   * One job run: claims due deliveries (`claimBatch` at a time, sent
   * concurrently) and attempts each once; a full batch is followed by another,
   * up to `MAX_BATCHES_PER_RUN`, so a backlog drains without waiting for the next tick.
   * Returns how many were attempted.
   */
  async deliverDue(): Promise<number> {
    let attempted = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      const claimed = await repo.claimDue(this.db, { now: this.clock.now(), leaseMs: this.leaseMs(), limit: this.options.claimBatch });
      await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      attempted += claimed.length;
      if (claimed.length < this.options.claimBatch) break;
    }
    return attempted;
  }

  /** Attempts one delivery now, whatever its status or schedule (a DEAD one too). */
  async resend(merchantId: string, id: string): Promise<WebhookDelivery> {
    const [found] = await repo.listDeliveries(this.db, { merchantId, deliveryId: id, limit: 1 });
    if (!found) throw new DomainError('WEBHOOK_DELIVERY_NOT_FOUND');
    if (found.status === 'CANCELLED') throw new DomainError('WEBHOOK_DELIVERY_CANCELLED');
    const claimed = await repo.claimForResend(this.db, { merchantId, id, leaseMs: this.leaseMs() });
    if (!claimed) throw new DomainError('WEBHOOK_DELIVERY_IN_FLIGHT');
    await this.attempt(claimed);
    return (await this.getDelivery(merchantId, id))!;
  }

  async getDelivery(merchantId: string, id: string): Promise<WebhookDelivery | undefined> {
    const [found] = await repo.listDeliveries(this.db, { merchantId, deliveryId: id, limit: 1 });
    return found;
  }

  async listDeliveries(input: { merchantId: string; eventId?: string; status?: DeliveryStatus; startingAfter?: string; limit: number }) {
    const rows = await repo.listDeliveries(this.db, { ...input, limit: input.limit + 1 });
    return { data: rows.slice(0, input.limit), hasMore: rows.length > input.limit };
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const startedAt = this.clock.now();
    const secrets = (await repo.liveSecrets(this.db, delivery.endpointId, startedAt))
      .map((row) => this.box.open(row.sealed, row.id))
      .filter((secret): secret is string => secret !== undefined);
    const result = await this.post(delivery, secrets, startedAt);
    crashPoint('webhooks.after-post-before-record');
    const finishedAt = this.clock.now();
    const attempt: WebhookAttempt = {
      attempt: delivery.attempt,
      at: startedAt,
      durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
      httpStatus: result.status ?? null,
      error: result.error ?? null,
      responseBody: result.body ?? null,
    };
    const delivered = result.status !== undefined && result.status >= 200 && result.status < 300;
    const outcome = delivered
      ? ({ kind: 'delivered', at: finishedAt } as const)
      : nextStep({
          schedule: this.options,
          attempts: delivery.attempt,
          now: finishedAt,
          startedAt,
          giveUpAt: delivery.giveUpAt,
          retryAfterMs: result.status === 429 || result.status === 503 ? parseRetryAfter(result.retryAfter, finishedAt) : undefined,
        });
    await this.db.transaction().execute(async (trx) => {
      await repo.insertAttempt(trx, delivery.id, attempt);
      await repo.finishAttempt(trx, { id: delivery.id, attempt: delivery.attempt, outcome });
    });
  }

  private async post(delivery: ClaimedDelivery, secrets: string[], now: Date): Promise<PostOutcome> {
    if (secrets.length === 0) return { error: 'no usable signing secret for this endpoint' };
    const guarded = !this.options.allowInternalAddresses;
    const literal = guarded ? internalLiteralOf(delivery.url) : undefined;
    if (literal) return { error: literal };
    return postOnce(delivery.url, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Coffer-Webhooks/1',
        'x-coffer-signature': signWebhook(delivery.body, secrets, Math.floor(now.getTime() / 1000)),
        'x-coffer-delivery': delivery.id,
      },
      body: delivery.body,
      timeoutMs: this.options.timeoutMs,
      bodyChars: this.options.responseBodyChars,
      ...(guarded ? { lookup: this.connectLookup } : {}),
    });
  }
}

/** An address written into the URL itself is refused at once; a name is checked at each delivery, when it resolves. */
function assertNotInternalLiteral(url: string): void {
  const host = new URL(url).hostname;
  if (host === 'localhost' || host.endsWith('.localhost') || internalLiteralOf(url)) {
    throw new DomainError('INVALID_WEBHOOK_URL', `${host} is an internal address: webhooks go to the merchant's public servers`);
  }
}

function validUrl(input: string): string {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_URL_LENGTH) {
    throw new DomainError('INVALID_WEBHOOK_URL', `The URL must be 1 to ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new DomainError('INVALID_WEBHOOK_URL', 'The URL could not be parsed');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DomainError('INVALID_WEBHOOK_URL', 'Only http and https URLs are accepted');
  if (url.username !== '' || url.password !== '') throw new DomainError('INVALID_WEBHOOK_URL', 'The URL must not carry credentials');
  if (url.hash !== '') throw new DomainError('INVALID_WEBHOOK_URL', 'The URL must not carry a fragment');
  return url.toString();
}

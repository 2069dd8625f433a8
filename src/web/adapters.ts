/**
 * The UI's ports wired to the modules' public surfaces (their index.ts only).
 */
import type { Kysely } from 'kysely';
import type { UsersService } from '../modules/users/index.ts';
import { balanceSummary, entryView, type LedgerService } from '../modules/ledger/index.ts';
import type { MerchantsService, OperatorsService, ApiKey } from '../modules/merchants/index.ts';
import { payoutView, type PayoutStatus, type PayoutsService } from '../modules/payouts/index.ts';
import type { DeliveryStatus, WebhookDelivery, WebhooksService } from '../modules/webhooks/index.ts';
import { recordAudit } from '../platform/audit.ts';
import type { Clock } from '../platform/clock.ts';
import { DomainError } from '../platform/errors.ts';
import { formatMinor } from '../platform/money/index.ts';
import { batchView, type BatchActor, type PayoutBatch, type PayoutBatchesService } from '../modules/payout-batches/index.ts';
import type { UiActor, UiApiKey, UiBatch, UiDelivery, WebBatches, WebOperators, WebPortal, WebUsers } from './ports.ts';

export function usersPort(users: UsersService): WebUsers {
  return {
    async register(mobile, password) {
      await users.register({ mobile, password });
    },
    async login(mobile, password) {
      const session = await users.login({ mobile, password });
      return { token: session.token, expiresAt: session.expiresAt };
    },
    async logout(token) {
      await users.logout(token);
    },
    async userForSession(token) {
      const user = await users.authenticate(token);
      return user && { id: user.id, mobile: user.mobile, status: user.status };
    },
  };
}

export function operatorsPort(operators: OperatorsService): WebOperators {
  return {
    async login(username, password, requestId) {
      const session = await operators.login({ username, password }, requestId);
      return { token: session.token, expiresAt: session.expiresAt };
    },
    async logout(token) {
      await operators.logout(token);
    },
    async operatorForSession(token) {
      const operator = await operators.authenticate(token);
      return operator && { id: operator.id, username: operator.username, role: operator.role, merchantId: operator.merchantId };
    },
  };
}

/** The services' Actor: the operator, with the request that made the change. */
function actorOf(actor: UiActor) {
  return { principal: { kind: 'operator', id: actor.operatorId }, requestId: actor.requestId };
}

function apiKeyOf(key: ApiKey): UiApiKey {
  return { id: key.id, role: key.role, createdAt: key.createdAt.toISOString(), revokedAt: key.revokedAt?.toISOString() ?? null };
}

function deliveryOf(d: WebhookDelivery): UiDelivery {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    url: d.url,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
    attempts: d.attempts.map((a) => ({ ...a, at: a.at.toISOString() })),
  };
}

export interface PortalDeps {
  merchants: MerchantsService;
  ledger: LedgerService;
  payouts: PayoutsService;
  webhooks: WebhooksService;
  /** For the one audit row the webhooks service does not write itself (a re-send from the portal). */
  db: Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  clock: Clock;
}

/** The merchant portal over the merchants, ledger, payouts and webhooks services; every call names the merchant. */
export function portalPort(deps: PortalDeps): WebPortal {
  const { merchants, ledger, payouts, webhooks } = deps;
  return {
    async merchant(merchantId) {
      const m = await merchants.getMerchant(merchantId);
      return { id: m.id, name: m.name, status: m.status, products: m.products };
    },
    async balances(merchantId) {
      return (await merchants.settlementAccounts(merchantId)).map(balanceSummary);
    },
    async entries(merchantId, currency, page) {
      // Only this merchant's own settlement account: the currency picks among them.
      const account = (await merchants.settlementAccounts(merchantId)).find((a) => a.currency === currency);
      if (!account) return { data: [], hasMore: false };
      const found = await ledger.entries(account.id, page);
      return {
        data: found.data.map((entry) => {
          const view = entryView(entry);
          return { id: view.seq, code: view.code, direction: view.direction, amount: view.amount, currency: view.currency, balanceAfter: view.balanceAfter, createdAt: view.createdAt };
        }),
        hasMore: found.hasMore,
      };
    },
    async apiKeys(merchantId) {
      return (await merchants.listApiKeys(merchantId)).map(apiKeyOf);
    },
    async createApiKey(merchantId, role, actor) {
      const { key, secret } = await merchants.createApiKey(merchantId, role, actorOf(actor));
      return { key: apiKeyOf(key), secret };
    },
    async revokeApiKey(merchantId, keyId, actor) {
      return apiKeyOf(await merchants.revokeApiKey(merchantId, keyId, actorOf(actor)));
    },
    async payouts(merchantId, query) {
      const page = await payouts.list(merchantId, {
        limit: query.limit,
        ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}),
        ...(query.status ? { status: query.status as PayoutStatus } : {}),
      });
      return { data: page.data.map(payoutView), hasMore: page.hasMore };
    },
    async payout(merchantId, id) {
      return payoutView(await payouts.get(merchantId, id));
    },
    async deliveries(merchantId, query) {
      const page = await webhooks.listDeliveries({
        merchantId,
        limit: query.limit,
        ...(query.startingAfter ? { startingAfter: query.startingAfter } : {}),
        ...(query.status ? { status: query.status as DeliveryStatus } : {}),
      });
      return { data: page.data.map(deliveryOf), hasMore: page.hasMore };
    },
    async resendDelivery(merchantId, id, actor) {
      const before = await webhooks.getDelivery(merchantId, id);
      if (!before) throw new DomainError('WEBHOOK_DELIVERY_NOT_FOUND');
      const after = await webhooks.resend(merchantId, id);
      await recordAudit(
        deps.db,
        {
          principal: actorOf(actor).principal,
          action: 'webhook_delivery.resend',
          subject: { kind: 'webhook_delivery', id },
          before: { status: before.status, attemptCount: before.attemptCount },
          after: { status: after.status, attemptCount: after.attemptCount },
          requestId: actor.requestId,
        },
        deps.clock.now(),
      );
      return deliveryOf(after);
    },
  };
}

function actorRef(actor: BatchActor): string {
  return `${actor.kind}:${actor.id}`;
}

function batchOf(batch: PayoutBatch): UiBatch {
  const view = batchView(batch);
  const decider = view.approvedBy ?? view.rejectedBy;
  return {
    id: view.id,
    status: view.status,
    count: view.count,
    totalAmount: view.totalAmount,
    currency: view.currency,
    createdAt: view.created,
    createdBy: actorRef(view.createdBy),
    ...(decider ? { decidedBy: actorRef(decider) } : {}),
    byStatus: Object.entries(view.rows)
      .filter(([, tally]) => tally.count > 0)
      .map(([status, tally]) => ({ status, count: tally.count, amount: tally.amount, fee: tally.fee })),
  };
}

/**
 * The portal's batches over the payout-batches service. The service keeps who
 * made and who decided each batch on the batch itself; the portal also writes
 * an audit row per upload and decision (platform recordAudit), as the admin
 * API does for its changes, so the audit log names every operator action.
 */
export function batchesPort(batches: PayoutBatchesService, audit: { db: Kysely<any>; clock: Clock }): WebBatches { // eslint-disable-line @typescript-eslint/no-explicit-any
  const by = (actor: UiActor): BatchActor => ({ kind: 'operator', id: actor.operatorId });
  const record = (actor: UiActor, action: string, batch: PayoutBatch, before: string | null) =>
    recordAudit(
      audit.db,
      {
        principal: actorOf(actor).principal,
        action,
        subject: { kind: 'payout_batch', id: batch.id },
        before: before === null ? null : { status: before },
        after: { status: batch.status, count: batch.rowCount, totalAmount: formatMinor(batch.totalMinor, batch.currency) },
        requestId: actor.requestId,
      },
      audit.clock.now(),
    );
  return {
    async create(merchantId, csv, actor) {
      const batch = await batches.create(merchantId, csv, by(actor));
      await record(actor, 'payout_batch.create', batch, null);
      return batchOf(batch);
    },
    async list(merchantId, query) {
      const page = await batches.list(merchantId, query);
      return { data: page.data.map(batchOf), hasMore: page.hasMore };
    },
    async get(merchantId, batchId) {
      return batchOf(await batches.get(merchantId, batchId));
    },
    async approve(merchantId, batchId, actor) {
      const batch = await batches.approve(merchantId, batchId, by(actor));
      await record(actor, 'payout_batch.approve', batch, 'AWAITING_APPROVAL');
      return batchOf(batch);
    },
    async reject(merchantId, batchId, actor, reason) {
      const batch = await batches.reject(merchantId, batchId, by(actor), reason);
      await record(actor, 'payout_batch.reject', batch, 'AWAITING_APPROVAL');
      return batchOf(batch);
    },
    resultsCsv(merchantId, batchId) {
      return batches.resultsCsv(merchantId, batchId);
    },
  };
}

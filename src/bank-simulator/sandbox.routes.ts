/** Sandbox controls (SPEC 4, a contract): notifications, faults and demo cards. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type CurrencyCode, formatMinor, isCurrencyCode, parseMoney } from '../platform/money/money.ts';
import type { BankContext } from './context.ts';
import { FaultError } from './faults.ts';
import { platformFeeAccount } from './gateway.service.ts';
import { sendProblem } from './problem.ts';
import * as repo from './repository.ts';
import type { CardRow, DeliveryState, NotificationRow } from './repository.ts';
import { DEFAULT_CURRENCY, maskCardNumber } from './validation.ts';

const LIST_LIMIT = 200;

function notificationView(n: NotificationRow) {
  return {
    id: n.id,
    requestNo: n.request_no,
    serviceName: n.service_name,
    status: n.status,
    attempts: n.attempts,
    state: n.state,
    nextAttemptAt: n.state === 'PENDING' ? n.next_attempt_at.toISOString() : null,
    reqData: n.req_data,
    created: n.created_at.toISOString(),
  };
}

function cardView(card: CardRow) {
  return {
    cardNumber: card.card_number,
    balance: formatMinor(card.balance_minor, card.currency as CurrencyCode),
    currency: card.currency,
    bankCode: card.bank_code,
    bound: card.holder_user_no !== null,
  };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sandboxGuard(ctx: BankContext) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!ctx.config.sandbox) return sendProblem(reply, 404, 'NOT_FOUND', 'Sandbox controls are off (SANDBOX=false).');
    const token = ctx.config.adminToken;
    if (token === undefined) return;
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!sameSecret(given, token)) return sendProblem(reply, 401, 'UNAUTHORIZED', 'Sandbox controls need Authorization: Bearer <ADMIN_TOKEN>.');
  };
}

export function jsonBody(req: FastifyRequest): Record<string, unknown> {
  return typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
}

function validCardNumber(value: string): boolean {
  return /^\d{12,19}$/.test(value);
}

function demoBalanceMinor(ctx: BankContext): bigint {
  return parseMoney(ctx.config.demoCardBalance, DEFAULT_CURRENCY, { allowZero: true }).amountMinor;
}

/** A card never seen is shown as it would be created (demo balance), without creating it. */
async function cardOrDemo(ctx: BankContext, cardNumber: string): Promise<CardRow> {
  const existing = await repo.findCard(ctx.db, cardNumber);
  if (existing) return existing;
  return { card_number: cardNumber, bank_code: null, holder_user_no: null, currency: DEFAULT_CURRENCY, balance_minor: demoBalanceMinor(ctx), created_at: new Date() };
}

export function registerSandboxRoutes(app: FastifyInstance, ctx: BankContext): void {
  app.register(async (sandbox) => {
    sandbox.addHook('onRequest', sandboxGuard(ctx));

    sandbox.get('/sandbox/notifications', async (req, reply) => {
      const query = req.query as Record<string, string | undefined>;
      const state = query.state as DeliveryState | undefined;
      if (state !== undefined && !['PENDING', 'DELIVERED', 'DEAD'].includes(state)) {
        return sendProblem(reply, 400, 'VALIDATION_FAILED', 'state must be PENDING, DELIVERED or DEAD.');
      }
      const rows = await repo.listNotifications(ctx.db, { requestNo: query.requestNo || undefined, state }, LIST_LIMIT);
      return rows.map(notificationView);
    });

    sandbox.post('/sandbox/notifications/:id/resend', async (req, reply) => {
      const { id } = req.params as { id: string };
      const row = await ctx.sender.resend(id);
      if (!row) return sendProblem(reply, 404, 'NOT_FOUND', `No notification ${id}.`);
      return notificationView(row);
    });

    sandbox.get('/sandbox/faults', async () => ctx.faults.view());

    sandbox.post('/sandbox/faults', async (req, reply) => {
      try {
        const view = ctx.faults.apply(jsonBody(req));
        ctx.sender.poke();
        return view;
      } catch (err) {
        if (err instanceof FaultError) return sendProblem(reply, 400, 'VALIDATION_FAILED', err.message);
        throw err;
      }
    });

    sandbox.get('/sandbox/cards/:cardNumber', async (req, reply) => {
      const { cardNumber } = req.params as { cardNumber: string };
      if (!validCardNumber(cardNumber)) return sendProblem(reply, 400, 'VALIDATION_FAILED', 'A card number is 12 to 19 digits.');
      return cardView(await cardOrDemo(ctx, cardNumber));
    });

    sandbox.post('/sandbox/cards/:cardNumber/top-up', async (req, reply) => {
      const { cardNumber } = req.params as { cardNumber: string };
      if (!validCardNumber(cardNumber)) return sendProblem(reply, 400, 'VALIDATION_FAILED', 'A card number is 12 to 19 digits.');
      const card = await repo.ensureCard(ctx.db, cardNumber, DEFAULT_CURRENCY, demoBalanceMinor(ctx));
      let amountMinor: bigint;
      try {
        amountMinor = parseMoney(jsonBody(req).amount, card.currency as CurrencyCode).amountMinor;
      } catch (err) {
        return sendProblem(reply, 400, 'INVALID_AMOUNT', (err as Error).message);
      }
      const updated = (await repo.creditCard(ctx.db, cardNumber, amountMinor))!;
      return cardView(updated);
    });

    sandbox.get('/sandbox/accounts/:userNo', async (req, reply) => {
      const { userNo } = req.params as { userNo: string };
      const account = await repo.findVirtualAccount(ctx.db, userNo);
      if (!account) return sendProblem(reply, 404, 'NOT_FOUND', `No virtual account for ${userNo}.`);
      const user = await repo.findUser(ctx.db, userNo);
      const currency = isCurrencyCode(account.currency) ? account.currency : DEFAULT_CURRENCY;
      return {
        userNo,
        balance: formatMinor(account.balance_minor, currency),
        currency,
        lockedUntil: user?.locked_until && user.locked_until.getTime() > Date.now() ? user.locked_until.toISOString() : null,
        cards: user ? (await repo.cardsOf(ctx.db, userNo)).map((c) => maskCardNumber(c.card_number)) : [],
      };
    });

    sandbox.get('/sandbox/platform-account', async () => {
      const account = await repo.findVirtualAccount(ctx.db, platformFeeAccount(ctx));
      return { account: platformFeeAccount(ctx), balance: account ? formatMinor(account.balance_minor, account.currency as CurrencyCode) : '0.00' };
    });
  });
}

import type { FastifyInstance } from 'fastify';
import type { CurrencyCode } from '../platform/money/money.ts';
import { formatMinor } from '../platform/money/money.ts';
import type { BankContext } from './context.ts';
import * as payouts from './payouts.repository.ts';
import type { PayoutRow } from './payouts.repository.ts';
import { HeldAnswers, type SignedMessage } from './envelope.ts';
import { reversePayoutNow, takePayoutOrder } from './payouts.service.ts';
import { sendProblem } from './problem.ts';
import { listNotifications } from './repository.ts';
import { jsonBody, sandboxGuard } from './sandbox.routes.ts';

const LIST_LIMIT = 200;

function payoutView(row: PayoutRow) {
  return {
    payoutId: row.payout_id,
    status: row.status,
    outcome: row.outcome,
    amount: formatMinor(row.amount_minor, row.currency as CurrencyCode),
    currency: row.currency,
    beneficiary: { name: row.beneficiary_name, accountNo: row.beneficiary_account_no, bankCode: row.beneficiary_bank_code },
    channelRef: row.channel_ref,
    errorCode: row.status === 'FAILED' || row.status === 'REVERSED' ? row.error_code : null,
    reverseAt: row.reverse_at?.toISOString() ?? null,
    created: row.created_at.toISOString(),
    updated: row.updated_at.toISOString(),
  };
}

/** The payout channel's server-to-server endpoint and its sandbox controls. */
export function registerPayoutRoutes(app: FastifyInstance, ctx: BankContext): void {
  // Orders that "time out" are answered only after BANK_PAYOUT_HANG_MS, or never if the caller leaves or the bank stops.
  const held = new HeldAnswers(app);

  app.post('/payouts', async (req, reply) => {
    const answer = await takePayoutOrder(ctx, (req.body ?? {}) as SignedMessage);
    if (!answer.ok) return sendProblem(reply, answer.status, answer.code, answer.detail);
    if (answer.hangMs !== undefined && !(await held.hold(req, answer.hangMs))) {
      return reply.code(503).header('connection', 'close').send();
    }
    return reply.header('cache-control', 'no-store').send(answer.body);
  });

  app.register(async (sandbox) => {
    sandbox.addHook('onRequest', sandboxGuard(ctx));

    sandbox.get('/sandbox/payouts', async (req) => {
      const { payoutId } = req.query as { payoutId?: string };
      const rows = await payouts.listPayouts(ctx.db, { payoutId: payoutId || undefined }, LIST_LIMIT);
      return Promise.all(
        rows.map(async (row) => ({
          ...payoutView(row),
          notifications: (await listNotifications(ctx.db, { requestNo: row.payout_id }, LIST_LIMIT)).map((n) => ({
            id: n.id,
            status: n.status,
            state: n.state,
            attempts: n.attempts,
          })),
        })),
      );
    });

    sandbox.post('/sandbox/payouts/:payoutId/reverse', async (req, reply) => {
      const { payoutId } = req.params as { payoutId: string };
      const result = await reversePayoutNow(ctx, payoutId);
      if (result === 'not-found') return sendProblem(reply, 404, 'NOT_FOUND', `No payout ${payoutId}.`);
      if (result === 'not-succeeded') return sendProblem(reply, 409, 'NOT_SUCCEEDED', `Payout ${payoutId} has not succeeded; only a paid payout can be returned.`);
      return payoutView(result);
    });

    sandbox.get('/sandbox/payout-faults', async () => ctx.payoutFaults.view());

    sandbox.post('/sandbox/payout-faults', async (req, reply) => {
      try {
        ctx.payoutFaults.set(jsonBody(req).nextOutcomes ?? []);
      } catch (err) {
        return sendProblem(reply, 400, 'VALIDATION_FAILED', (err as Error).message);
      }
      return ctx.payoutFaults.view();
    });
  });
}

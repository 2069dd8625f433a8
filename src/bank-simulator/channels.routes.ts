import type { FastifyInstance } from 'fastify';
import { answerChannelCall } from './channels.service.ts';
import { listSms } from './channels.repository.ts';
import { findChannel } from './channels.sandbox.ts';
import type { BankContext } from './context.ts';
import { HeldAnswers, type SignedMessage } from './envelope.ts';
import { FaultError } from './faults.ts';
import { sendProblem } from './problem.ts';
import { jsonBody, sandboxGuard } from './sandbox.routes.ts';

const LIST_LIMIT = 200;

/** The card payment channels' server-to-server endpoints and their sandbox controls. */
export function registerChannelRoutes(app: FastifyInstance, ctx: BankContext): void {
  // A SLOW or TIMEOUT channel's answer waits; a caller that leaves (or a closing server) gets none.
  const held = new HeldAnswers(app);

  app.post('/channels/:code/:operation', async (req, reply) => {
    const { code, operation } = req.params as { code: string; operation: string };
    const answer = await answerChannelCall(ctx, code, operation, (req.body ?? {}) as SignedMessage);
    if (!answer.ok) return sendProblem(reply, answer.status, answer.code, answer.detail);
    if (answer.holdMs !== undefined && !(await held.hold(req, answer.holdMs))) {
      return reply.code(503).header('connection', 'close').send();
    }
    return reply.code(answer.httpStatus).header('cache-control', 'no-store').send(answer.body);
  });

  app.register(async (sandbox) => {
    sandbox.addHook('onRequest', sandboxGuard(ctx));

    sandbox.get('/sandbox/channels', async () => ctx.channels.view());

    sandbox.post('/sandbox/channels/reset', async () => {
      ctx.channels.reset();
      return ctx.channels.view();
    });

    sandbox.post('/sandbox/channels/:code', async (req, reply) => {
      const { code } = req.params as { code: string };
      const channel = findChannel(code);
      if (!channel) return sendProblem(reply, 404, 'UNKNOWN_CHANNEL', `There is no channel ${code}.`);
      try {
        return ctx.channels.set(channel.code, jsonBody(req));
      } catch (err) {
        if (err instanceof FaultError) return sendProblem(reply, 400, 'VALIDATION_FAILED', err.message);
        throw err;
      }
    });

    sandbox.get('/sandbox/channel-sms', async (req) => {
      const { mobile } = req.query as { mobile?: string };
      return (await listSms(ctx.db, mobile || undefined, LIST_LIMIT)).map((sms) => ({
        channelCode: sms.channel_code,
        attemptNo: sms.attempt_no,
        mobile: sms.mobile,
        code: sms.code,
        sentAt: sms.sent_at.toISOString(),
      }));
    });
  });
}

import type { FastifyInstance } from 'fastify';
import type { BankContext } from './context.ts';
import { sendProblem } from './problem.ts';
import { answerServiceCall, type ServiceCall } from './query.service.ts';

export function registerServiceRoutes(app: FastifyInstance, ctx: BankContext): void {
  app.post('/service', async (req, reply) => {
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as ServiceCall;
    const answer = await answerServiceCall(ctx, body);
    if (!answer.ok) return sendProblem(reply, answer.status, answer.code, answer.detail);
    return reply.header('cache-control', 'no-store').send(answer.body);
  });
}

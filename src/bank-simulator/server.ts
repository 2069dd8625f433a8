import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { registerChannelRoutes } from './channels.routes.ts';
import type { BankContext } from './context.ts';
import { registerGatewayRoutes } from './gateway.routes.ts';
import { registerPayoutRoutes } from './payouts.routes.ts';
import { sendProblem } from './problem.ts';
import { registerSandboxRoutes } from './sandbox.routes.ts';
import { registerServiceRoutes } from './service.routes.ts';
import { registerStatementRoutes } from './statements.ts';
import { registerTransferInRoutes } from './transfers-in.ts';

const BODY_LIMIT_BYTES = 256 * 1024;

/** The simulator's own small HTTP server: hosted pages, server-to-server service, sandbox. */
export async function buildBankServer(ctx: BankContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
  });
  await app.register(formbody);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'unexpected error');
    const detail = status === 500 ? 'Something went wrong at the bank.' : err.message;
    return sendProblem(reply, status, status === 500 ? 'INTERNAL_ERROR' : 'MALFORMED_REQUEST', detail);
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, 'NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`));

  app.get('/healthz', async (_req, reply) => {
    try {
      await sql`select 1`.execute(ctx.db);
      return { status: 'ok' };
    } catch {
      return sendProblem(reply, 503, 'SERVICE_UNAVAILABLE', 'The bank database does not answer.');
    }
  });
  registerGatewayRoutes(app, ctx);
  registerServiceRoutes(app, ctx);
  registerSandboxRoutes(app, ctx);
  registerPayoutRoutes(app, ctx);
  registerTransferInRoutes(app, ctx);
  registerChannelRoutes(app, ctx);
  registerStatementRoutes(app, ctx);
  return app;
}

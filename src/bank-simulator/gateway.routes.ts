import fs from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { BankContext } from './context.ts';
import { acceptGatewayRequest, confirmRequest, type ConfirmOutcome, platformData, returnToPlatform } from './gateway.service.ts';
import { renderConfirmPage, renderErrorPage, renderFinishedPage, STYLESHEET_PATH } from './pages.tsx';

const STYLESHEET = fs.readFileSync(new URL('./assets/bank.css', import.meta.url), 'utf8');

/** Form bodies as plain strings: a repeated field counts as its first value, anything else as absent. */
export function formFields(body: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return fields;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') fields[name] = first;
  }
  return fields;
}

/**
 * Strict CSP: no scripts at all, our stylesheet only, and forms may post only
 * here or (following our redirect) to the platform's callback origin.
 */
function sendPage(reply: FastifyReply, status: number, html: string, callbackUrl?: string): FastifyReply {
  const formTargets = ["'self'", ...(callbackUrl ? [new URL(callbackUrl).origin] : [])].join(' ');
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', `default-src 'none'; style-src 'self'; img-src 'self'; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .send(html);
}

function sendOutcome(reply: FastifyReply, outcome: ConfirmOutcome): FastifyReply {
  switch (outcome.kind) {
    case 'refused':
      return sendPage(reply, outcome.status, renderErrorPage(outcome));
    case 'redirect':
      return reply.code(303).header('cache-control', 'no-store').header('location', outcome.url).send();
    case 'confirm':
      return sendPage(reply, outcome.error || Object.keys(outcome.fieldErrors).length > 0 ? 422 : 200, renderConfirmPage(outcome), outcome.data.callbackUrl);
    case 'finished':
      return sendPage(reply, outcome.status, renderFinishedPage(outcome), platformData(outcome.request).callbackUrl);
  }
}

export function registerGatewayRoutes(app: FastifyInstance, ctx: BankContext): void {
  app.get(STYLESHEET_PATH, async (_req, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(STYLESHEET),
  );

  app.post('/gateway', async (req, reply) => {
    const body = formFields(req.body);
    const outcome = await acceptGatewayRequest(ctx, {
      serviceName: body.serviceName ?? '',
      platformNo: body.platformNo ?? '',
      reqData: body.reqData ?? '',
      signature: body.signature ?? '',
    });
    return sendOutcome(reply, outcome);
  });

  app.post('/gateway/confirm', async (req, reply) => sendOutcome(reply, await confirmRequest(ctx, formFields(req.body))));

  app.post('/gateway/return', async (req, reply) => sendOutcome(reply, await returnToPlatform(ctx, formFields(req.body))));
}

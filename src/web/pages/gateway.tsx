import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ComponentChildren } from 'preact';
import type { GatewayRequest } from '../../protocol/depository.ts';
import type { WebContext } from '../context.tsx';
import { originOf } from '../csp.ts';

const GATEWAY_FIELDS = ['serviceName', 'platformNo', 'reqData', 'signature'] as const;

/**
 * Phase 2 of SPEC 4: the browser posts the four signed fields to the bank's
 * hosted page. No script submits it: the person presses the button. The page's
 * CSP lets forms post to the bank's origin and nowhere else.
 */
export function renderGatewayPage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  gateway: GatewayRequest,
  page: { title: string; current?: string; summary: ComponentChildren },
): FastifyReply {
  return ctx.render(request, reply, {
    title: page.title,
    ...(page.current ? { current: page.current } : {}),
    formActionOrigins: [originOf(gateway.depositoryUrl)],
    children: (
      <div class="card">
        {page.summary}
        <p class="muted">You finish this at your bank. Coffer never sees your transaction password.</p>
        <form method="post" action={gateway.depositoryUrl} hx-boost="false" data-testid="bank-form">
          {GATEWAY_FIELDS.map((name) => (
            <input type="hidden" name={name} value={gateway[name]} />
          ))}
          <button type="submit">Continue to your bank</button>
        </form>
      </div>
    ),
  });
}

/** Where the bank sends the browser back to: this server, as the browser reached it. */
export function callbackUrl(request: FastifyRequest, path: string): string {
  return `${request.protocol}://${request.host}${path}`;
}

import type { FastifyReply } from 'fastify';
import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { uiContentSecurityPolicy, type CspOptions } from './csp.ts';

export interface SendPageOptions extends CspOptions {
  status?: number;
}

/**
 * Every UI page leaves through here: rendered (and escaped) by preact, with
 * the UI's own Content-Security-Policy, never cached (it shows balances and
 * carries a CSRF token).
 */
export function sendPage(reply: FastifyReply, page: VNode, options: SendPageOptions = {}): FastifyReply {
  return reply
    .code(options.status ?? 200)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', uiContentSecurityPolicy(options))
    .header('cache-control', 'no-store')
    .header('vary', 'HX-Request')
    .send(`<!doctype html>\n${renderToString(page)}`);
}

/** After a POST: 303 so the browser GETs the next page (and a reload does not resubmit). */
export function redirectTo(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('location', location).header('cache-control', 'no-store').send();
}

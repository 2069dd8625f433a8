import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

/** One attempt's result: the receiver's status, the start of its body and Retry-After; or why there is none. */
export interface PostOutcome {
  status?: number;
  body?: string;
  retryAfter?: string | null;
  error?: string;
}

export interface PostRequest {
  headers: Record<string, string>;
  body: string;
  /** The whole exchange: connect, send, answer. */
  timeoutMs: number;
  /** Response body characters kept; the rest is not read. */
  bodyChars: number;
  /** Resolves the host for the connection (node:net's `lookup`), e.g. one that refuses internal addresses. */
  lookup?: LookupFunction;
}

/**
 * POSTs once over node:http(s) on a new connection, following no redirect.
 * Once the status has come, a body cut short or a timeout still leaves the
 * status and what came.
 */
export function postOnce(url: string, request: PostRequest): Promise<PostOutcome> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    let answered: (() => void) | undefined;
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sent.destroy();
      resolve(outcome);
    };
    const sent = client.request(
      target,
      {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        // A connection of its own: a pooled socket would skip `lookup`, and may be closed by the receiver as it is reused.
        agent: false,
        ...(request.lookup ? { lookup: request.lookup } : {}),
      },
      (response) => {
        let text = '';
        answered = () => finish({ status: response.statusCode, body: text.slice(0, request.bodyChars), retryAfter: firstValue(response.headers['retry-after']) });
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
          if (text.length >= request.bodyChars) answered!();
        });
        response.on('end', () => answered!());
        response.on('error', () => answered!());
        response.on('close', () => answered!());
      },
    );
    const timer = setTimeout(() => (answered ? answered() : finish({ error: `timeout after ${request.timeoutMs} ms` })), request.timeoutMs);
    sent.on('error', (err: NodeJS.ErrnoException) => (answered ? answered() : finish({ error: describe(err) })));
    sent.end(request.body);
  });
}

function describe(err: NodeJS.ErrnoException): string {
  // A refusal of ours says why; a system error is known by its code (ECONNREFUSED, ENOTFOUND...).
  const text = err.code && err.code !== 'EINTERNALADDRESS' ? err.code : err.message;
  return text.slice(0, 500);
}

function firstValue(header: string | string[] | undefined): string | null {
  return (Array.isArray(header) ? header[0] : header) ?? null;
}

import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors.ts';
import type { CofferApp } from './server.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The body exactly as its bytes arrived, on routes of a scope that called
     * `keepRawBody`; null elsewhere and on requests without a body. Signatures
     * (merchant HMAC) and Idempotency-Key fingerprints are computed over it,
     * never over a re-serialised parse.
     */
    rawBody: Buffer | null;
  }
}

/**
 * Replaces the JSON parser of one Fastify scope (a module's routes) with one
 * that keeps the raw bytes in `request.rawBody` and then parses them with
 * Fastify's own JSON parser (same prototype-poisoning protection, same
 * errors), and accepts `text/csv` bodies as a UTF-8 string with their raw
 * bytes kept too (batch payout files are signed like any body). Every other
 * content type is refused with 415 in that scope.
 *
 * The root app must have decorated `rawBody` (the merchants' auth plugin does).
 */
export function keepRawBody(scope: CofferApp): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  // Only these two: any other body (text/plain, forms) is 415, never a body whose bytes were not kept.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    parseJson(request, raw.toString('utf8'), done);
  });
  scope.addContentTypeParser('text/csv', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    try {
      done(null, new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch {
      done(new DomainError('MALFORMED_BODY', 'A text/csv body must be UTF-8'), undefined);
    }
  });
}

/** The bytes a signature covers: the raw body, or nothing for a request without one. */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return request.rawBody ?? Buffer.alloc(0);
}

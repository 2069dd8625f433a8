import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { DomainError, errorCatalogue, type ErrorCode } from '../errors.ts';
import { findBigInt } from './json-safety.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** At most this many schema violations are listed; more only make the answer longer. */
const MAX_LISTED_VIOLATIONS = 50;

/**
 * RFC 9457 problem details. `type` is `${PUBLIC_URL}/errors#CODE`: a stable URI
 * per code that resolves to the published catalogue (GET /errors), rather than
 * `about:blank`, so a client can tell problem kinds apart by `type` or `code`.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI of the problem kind: `{PUBLIC_URL}/errors#{code}`' }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine code from the catalogue at GET /errors' }),
    detail: Type.String(),
    requestId: Type.String({ description: 'Also in the `x-request-id` response header; quote it when reporting' }),
    instance: Type.String({ description: 'The request path' }),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  requestId: string;
  instance: string;
  [extra: string]: unknown;
}

/** What went wrong, before it is tied to a request. */
export interface Failure {
  code: ErrorCode;
  detail: string;
  extra?: Record<string, unknown> | undefined;
}

export interface Violation {
  path: string;
  message: string;
}

export function problemTypeUri(publicUrl: string, code: ErrorCode): string {
  return `${publicUrl}/errors#${code}`;
}

/** Fastify's own request errors, each with a code a client can rely on. */
const FASTIFY_ERROR_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

const CODES_BY_CLIENT_STATUS: Record<number, ErrorCode> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

const DATABASE_AWAY: Failure = {
  code: 'SERVICE_UNAVAILABLE',
  detail: 'The database cannot be reached just now. Nothing was done that a retry would repeat: try again shortly.',
};

/** What a 503 tells a client to wait before trying again. */
const RETRY_AFTER_S = 5;

const UNEXPECTED: Failure = {
  code: 'INTERNAL_ERROR',
  detail: 'An unexpected error occurred. Quote the requestId when reporting it.',
};

/** Maps anything a route or fastify can throw to a catalogue code; unknown errors reveal nothing. */
export function failureFrom(error: unknown): Failure {
  if (error instanceof DomainError) return { code: error.code, detail: error.message, extra: error.extra };
  if (isDatabaseUnavailable(error)) return DATABASE_AWAY;
  if (!isFastifyClientError(error)) return UNEXPECTED;
  if (error.validation) return validationFailure(error);
  const code = FASTIFY_ERROR_CODES[error.code] ?? CODES_BY_CLIENT_STATUS[error.statusCode] ?? 'MALFORMED_REQUEST';
  return { code, detail: error.message };
}

/** Only fastify's own 4xx errors are trusted to carry a client-facing message. */
function isFastifyClientError(error: unknown): error is FastifyError & { statusCode: number } {
  const candidate = error as Partial<FastifyError> | null;
  return (
    typeof candidate?.code === 'string' &&
    candidate.code.startsWith('FST_') &&
    typeof candidate.statusCode === 'number' &&
    candidate.statusCode >= 400 &&
    candidate.statusCode < 500
  );
}

function validationFailure(error: FastifyError): Failure {
  const part = error.validationContext ?? 'body';
  const errors = violationsFrom(part, error.validation ?? []);
  const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
  return { code: 'VALIDATION_FAILED', detail: `The request ${part} has ${count}`, extra: { errors } };
}

interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

/**
 * Paths are JSON pointers into the request seen as one document
 * (`/body/amount`, `/querystring/limit`). TypeBox reports a forbidden extra
 * property twice (as `schema is false` and as `additionalProperties`), so one
 * message per path is kept, the more specific one.
 */
export function violationsFrom(part: string, issues: readonly SchemaIssue[]): Violation[] {
  const byPath = new Map<string, Violation>();
  const ordered = [...issues].sort((a, b) => Number(a.keyword === 'boolean') - Number(b.keyword === 'boolean'));
  for (const issue of ordered) {
    for (const violation of describeIssue(`/${part}${issue.instancePath}`, issue)) {
      if (!byPath.has(violation.path)) byPath.set(violation.path, violation);
    }
  }
  return [...byPath.values()].slice(0, MAX_LISTED_VIOLATIONS);
}

function describeIssue(at: string, issue: SchemaIssue): Violation[] {
  const named = (key: string) => [issue.params[key]].flat().filter((name): name is string => typeof name === 'string');
  if (issue.keyword === 'required') {
    return [...named('requiredProperties'), ...named('missingProperty')].map((name) => ({
      path: `${at}/${name}`,
      message: 'is required',
    }));
  }
  if (issue.keyword === 'additionalProperties') {
    return named('additionalProperties').map((name) => ({ path: `${at}/${name}`, message: 'is not allowed' }));
  }
  return [{ path: at, message: issue.message ?? issue.keyword }];
}

export function problemFor(request: FastifyRequest, publicUrl: string, failure: Failure): Problem {
  const { status, title } = errorCatalogue[failure.code];
  return {
    ...safeExtra(request, failure),
    type: problemTypeUri(publicUrl, failure.code),
    title,
    status,
    code: failure.code,
    detail: failure.detail,
    requestId: request.id,
    instance: request.url.split('?')[0] ?? request.url,
  };
}

/** Extras go out as JSON; a bigint among them is a coding mistake, so they are dropped and logged. */
function safeExtra(request: FastifyRequest, failure: Failure): Record<string, unknown> {
  if (!failure.extra) return {};
  const at = findBigInt(failure.extra);
  if (!at) return failure.extra;
  request.log.error({ code: failure.code, at }, 'DomainError extra holds a bigint; extras dropped from the problem');
  return {};
}

/** Sends an already-serialized body so no route's response schema can strip problem fields. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, publicUrl: string, failure: Failure) {
  const problem = problemFor(request, publicUrl, failure);
  if (problem.status === 503) reply.header('retry-after', String(RETRY_AFTER_S));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

export function problemErrorHandler(publicUrl: string) {
  return function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    const failure = failureFrom(error);
    if (failure.code === 'INTERNAL_ERROR') {
      request.log.error({ err: error }, 'request failed unexpectedly');
    } else if (errorCatalogue[failure.code].status >= 500) {
      request.log.warn({ code: failure.code, detail: failure.detail, err: failure === DATABASE_AWAY ? error : undefined }, 'request not served');
    } else {
      request.log.info({ code: failure.code, detail: failure.detail }, 'request refused');
    }
    return sendProblem(request, reply, publicUrl, failure);
  };
}

export function notFoundHandler(publicUrl: string) {
  return function handleNotFound(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0];
    return sendProblem(request, reply, publicUrl, { code: 'NOT_FOUND', detail: `No route for ${request.method} ${path}` });
  };
}

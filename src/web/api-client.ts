/**
 * Coffer's own JSON API called in-process (`app.inject`) with a bearer token:
 * the wallet pages with the user's session, the admin console with the
 * operator's. The page then goes through exactly the checks any other client
 * meets (the admin role, validation, the audit row naming the operator).
 * A problem answer is thrown back as a DomainError with the API's code.
 */
import { DomainError, type ErrorCode } from '../platform/errors.ts';
import type { CofferApp } from '../platform/http/server.ts';

export type Json = Record<string, unknown>;
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export async function callApi(
  app: CofferApp,
  token: string,
  method: ApiMethod,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  const parsed: unknown = response.body ? JSON.parse(response.body) : undefined;
  if (response.statusCode >= 400) {
    const problem = (parsed ?? {}) as { code?: string; detail?: string; errors?: unknown };
    // The code comes from the catalogue the API answered with; the UI looks it up leniently.
    throw new DomainError((problem.code ?? 'INTERNAL_ERROR') as ErrorCode, problem.detail, {
      ...(problem.errors ? { errors: problem.errors } : {}),
    });
  }
  return parsed;
}

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

/** A JSON field as text (numbers too), or undefined: the ports map API rows leniently. */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** A list answer, bare (`[...]`) or paged (`{data: [...]}`), as its rows. */
export function rowsOf(body: unknown): Json[] {
  const rows = Array.isArray(body) ? body : (body as { data?: unknown } | null)?.data;
  return Array.isArray(rows) ? (rows as Json[]) : [];
}

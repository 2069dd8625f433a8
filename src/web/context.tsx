/**
 * What each page file gets: the ports, the guard, and `render`, which wraps a
 * page body in the layout with this request's user and CSRF token.
 */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { ComponentChildren } from 'preact';
import { DomainError, errorCatalogue } from '../platform/errors.ts';
import { failureFrom } from '../platform/http/problem.ts';
import type { CofferApp } from '../platform/http/server.ts';
import { Layout } from './layout.tsx';
import { messageFor, notices } from './messages.ts';
import { callApi, type ApiMethod } from './api-client.ts';
import type { UiOperator, UiOperatorRole, WebPorts, WebWallets } from './ports.ts';
import { sendPage, type SendPageOptions } from './render.ts';
import { csrfFor, currentOperator, requireUiOperator, requireUiUser, uiState, type CookiePolicy } from './session.ts';

export interface WebContext {
  app: CofferApp;
  ports: WebPorts;
  cookies: CookiePolicy;
  /** preHandler for logged-in pages: `{ preHandler: ctx.requireUiUser }`. */
  requireUiUser: preHandlerAsyncHookHandler;
  /** preHandler for the admin console: an operator with the admin role. */
  requireAdminOperator: preHandlerAsyncHookHandler;
  /** preHandler for the merchant portal: an operator of a merchant with one of `roles` (default: any of maker, checker, viewer). */
  requirePortalOperator(roles?: readonly UiOperatorRole[]): preHandlerAsyncHookHandler;
  /** The admin JSON API as the logged-in operator (behind requireAdminOperator). */
  adminApi(request: FastifyRequest): AdminApi;
  /** This request's CSRF token, for the page's forms. */
  csrf(request: FastifyRequest, reply: FastifyReply): string;
  render(request: FastifyRequest, reply: FastifyReply, page: PageSpec): FastifyReply;
}

export interface PageSpec extends SendPageOptions {
  title: string;
  current?: string;
  error?: string | undefined;
  children: ComponentChildren;
}

/** `callApi` bound to the operator's session: the API checks the role and audits the operator itself. */
export interface AdminApi {
  get<T>(url: string): Promise<T>;
  send<T>(method: Exclude<ApiMethod, 'GET'>, url: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
}

const PORTAL_ROLES: readonly UiOperatorRole[] = ['maker', 'checker', 'viewer'];

function roleList(roles: readonly string[]): string {
  return roles.length === 1 ? `a ${roles[0]}` : `a ${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}`;
}

export function createContext(app: CofferApp, ports: WebPorts, cookies: CookiePolicy): WebContext {
  return {
    app,
    ports,
    cookies,
    requireUiUser: requireUiUser(ports, cookies) as preHandlerAsyncHookHandler,
    requireAdminOperator: requireUiOperator(ports, cookies, (operator) => operator.role === 'admin', 'an admin operator') as preHandlerAsyncHookHandler,
    requirePortalOperator(roles = PORTAL_ROLES) {
      const allowed = (operator: UiOperator) => operator.merchantId !== null && roles.includes(operator.role);
      return requireUiOperator(ports, cookies, allowed, `${roleList(roles)} of a merchant`) as preHandlerAsyncHookHandler;
    },
    adminApi(request) {
      const token = uiState(request).operatorToken;
      currentOperator(request); // only behind the operator guard
      return {
        get: async <T,>(url: string) => (await callApi(app, token!, 'GET', url)) as T,
        send: async <T,>(method: Exclude<ApiMethod, 'GET'>, url: string, body?: unknown, headers?: Record<string, string>) =>
          (await callApi(app, token!, method, url, body, headers)) as T,
      };
    },
    csrf: (request, reply) => csrfFor(request, reply, cookies),
    render(request, reply, page) {
      const csrf = csrfFor(request, reply, cookies);
      const notice = noticeOf(request);
      const { title, current, error, children, ...options } = page;
      return sendPage(
        reply,
        <Layout title={title} user={uiState(request).user} operator={uiState(request).operator} csrf={csrf} current={current} error={error} notice={notice}>
          {children}
        </Layout>,
        options,
      );
    },
  };
}

/** `?notice=key` shows a fixed sentence from the notices table; any other value is ignored. */
function noticeOf(request: FastifyRequest): string | undefined {
  const key = (request.query as Record<string, unknown> | undefined)?.notice;
  return typeof key === 'string' && Object.hasOwn(notices, key) ? notices[key] : undefined;
}

/** A form field as one string: missing or repeated fields read as ''. */
export function formField(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** A repeated form field (checkboxes) as a list of strings. */
export function formList(body: unknown, name: string): string[] {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

/** The form's `idempotencyKey` (IdempotencyField) as the API's header, when it is one we made. */
export function idempotencyHeader(body: unknown): Record<string, string> {
  const key = formField(body, 'idempotencyKey');
  return /^[0-9a-f-]{36}$/.test(key) ? { 'idempotency-key': key } : {};
}

/** Makes each field's value a string, leaving out the empty ones (the API's optional fields). */
export function given(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
}

export function queryField(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** What a failed service call shows: one message and, for validation failures, one per field. */
export interface FormErrors {
  code: string;
  message: string;
  status: number;
  fields: Record<string, string>;
}

export function formErrorsFrom(error: unknown): FormErrors {
  const failure = failureFrom(error);
  const fields: Record<string, string> = {};
  const listed = (failure.extra as { errors?: { path?: unknown; message?: unknown }[] } | undefined)?.errors;
  for (const violation of Array.isArray(listed) ? listed : []) {
    if (typeof violation.path !== 'string' || typeof violation.message !== 'string') continue;
    const field = violation.path.split('/').filter(Boolean).at(-1);
    if (field && !fields[field]) fields[field] = violation.message;
  }
  // A validation failure that names no field (a service's own rule, e.g. "a multiple of the step") says its sentence.
  const unplaced = failure.code === 'VALIDATION_FAILED' && Object.keys(fields).length === 0 && failure.detail !== '';
  return { code: failure.code, message: unplaced ? failure.detail : messageFor(failure.code, failure.detail), status: statusOf(failure.code), fields };
}


/** Codes come from the catalogue, or from an API answer (api-wallets.ts): looked up leniently. */
function statusOf(code: string): number {
  return (errorCatalogue as Record<string, { status: number } | undefined>)[code]?.status ?? 400;
}

/** The wallets port, or a clear 503 while the wallets module is not wired in. */
export function walletsOf(ctx: WebContext): WebWallets {
  if (!ctx.ports.wallets) throw new DomainError('SERVICE_UNAVAILABLE', 'Wallets are not available on this server yet.');
  return ctx.ports.wallets;
}

/** An optional port, or a clear 503 while its module is not wired in. */
export function portOf<K extends keyof WebPorts>(ctx: WebContext, name: K, what: string): NonNullable<WebPorts[K]> {
  const port = ctx.ports[name];
  if (!port) throw new DomainError('SERVICE_UNAVAILABLE', `${what} are not available on this server yet.`);
  return port as NonNullable<WebPorts[K]>;
}

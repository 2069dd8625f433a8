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
import type { WebPorts, WebWallets } from './ports.ts';
import { sendPage, type SendPageOptions } from './render.ts';
import { csrfFor, requireUiUser, uiState, type CookiePolicy } from './session.ts';

export interface WebContext {
  app: CofferApp;
  ports: WebPorts;
  cookies: CookiePolicy;
  /** preHandler for logged-in pages: `{ preHandler: ctx.requireUiUser }`. */
  requireUiUser: preHandlerAsyncHookHandler;
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

export function createContext(app: CofferApp, ports: WebPorts, cookies: CookiePolicy): WebContext {
  return {
    app,
    ports,
    cookies,
    requireUiUser: requireUiUser(ports, cookies) as preHandlerAsyncHookHandler,
    csrf: (request, reply) => csrfFor(request, reply, cookies),
    render(request, reply, page) {
      const csrf = csrfFor(request, reply, cookies);
      const notice = noticeOf(request);
      const { title, current, error, children, ...options } = page;
      return sendPage(
        reply,
        <Layout title={title} user={uiState(request).user} csrf={csrf} current={current} error={error} notice={notice}>
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
  return { code: failure.code, message: messageFor(failure.code, failure.detail), status: statusOf(failure.code), fields };
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

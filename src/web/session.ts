/**
 * Who is on the other end of a UI request: the `coffer_session` cookie (set by
 * the login page, read by the users module's own guard too) and this browser's
 * CSRF secret. `requireUiUser` is the guard every logged-in page uses.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../platform/errors.ts';
import { CSRF_COOKIE, csrfToken, newCsrfSecret } from './csrf.ts';
import type { UiOperator, UiSession, UiUser, WebPorts } from './ports.ts';

export const SESSION_COOKIE = 'coffer_session';
/** The operator's session (admin console, merchant portal): its own cookie, never the wallet user's. */
export const OPERATOR_COOKIE = 'coffer_operator';

export interface UiRequestState {
  csrfSecret: string | undefined;
  sessionToken: string | undefined;
  /** Set by requireUiUser (or optionalUiUser) once the session is checked. */
  user: UiUser | undefined;
  operatorToken: string | undefined;
  /** Set by requireUiOperator (or optionalUiOperator) once the operator session is checked. */
  operator: UiOperator | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The web UI's view of the request; null outside the UI's routes. */
    ui: UiRequestState | null;
  }
}

export interface CookiePolicy {
  /** Secure cookies when the UI is served over https (PUBLIC_URL). */
  secure: boolean;
}

export function uiState(request: FastifyRequest): UiRequestState {
  request.ui ??= {
    csrfSecret: request.cookies[CSRF_COOKIE] || undefined,
    sessionToken: request.cookies[SESSION_COOKIE] || undefined,
    user: undefined,
    operatorToken: request.cookies[OPERATOR_COOKIE] || undefined,
    operator: undefined,
  };
  return request.ui;
}

/**
 * What this browser's CSRF tokens are bound to: the wallet session, and the
 * operator session when there is one. Logging in or out of either changes
 * every token; with no operator session it is the wallet session alone.
 */
export function csrfBinding(state: UiRequestState): string | undefined {
  if (!state.operatorToken) return state.sessionToken;
  return `${state.sessionToken ?? ''}|operator:${state.operatorToken}`;
}

/** The token for this page's forms, giving the browser a CSRF secret first if it has none. */
export function csrfFor(request: FastifyRequest, reply: FastifyReply, cookies: CookiePolicy): string {
  const state = uiState(request);
  if (!state.csrfSecret) {
    state.csrfSecret = newCsrfSecret();
    setCsrfCookie(reply, state.csrfSecret, cookies);
  }
  return csrfToken(state.csrfSecret, csrfBinding(state));
}

export function setCsrfCookie(reply: FastifyReply, secret: string, cookies: CookiePolicy): void {
  reply.setCookie(CSRF_COOKIE, secret, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookies.secure });
}

export function setSessionCookie(reply: FastifyReply, session: UiSession, cookies: CookiePolicy): void {
  reply.setCookie(SESSION_COOKIE, session.token, {
    path: '/',
    httpOnly: true,
    // Lax, not Strict: the bank's redirect back to /ui/... is a top-level GET from another site.
    sameSite: 'lax',
    secure: cookies.secure,
    expires: session.expiresAt,
  });
}

export function clearSessionCookie(reply: FastifyReply, cookies: CookiePolicy): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: cookies.secure });
}

/**
 * The operator's cookie: HttpOnly, SameSite=Strict (no bank redirect ever comes
 * back into the console or portal, so no cross-site navigation needs it), path /ui/.
 */
export function setOperatorCookie(reply: FastifyReply, session: UiSession, cookies: CookiePolicy): void {
  reply.setCookie(OPERATOR_COOKIE, session.token, { path: '/ui/', httpOnly: true, sameSite: 'strict', secure: cookies.secure, expires: session.expiresAt });
}

export function clearOperatorCookie(reply: FastifyReply, cookies: CookiePolicy): void {
  reply.clearCookie(OPERATOR_COOKIE, { path: '/ui/', httpOnly: true, sameSite: 'strict', secure: cookies.secure });
}

/** Where the login page may send someone back to: our own UI paths only, never another site. */
export function safeNext(next: unknown): string | undefined {
  return typeof next === 'string' && /^\/ui\/[A-Za-z0-9/_-]*$/.test(next) && !next.includes('//') ? next : undefined;
}

/** The user of a live session, or undefined; remembers the answer on the request. */
export async function optionalUiUser(request: FastifyRequest, ports: WebPorts): Promise<UiUser | undefined> {
  const state = uiState(request);
  if (state.user || !state.sessionToken) return state.user;
  state.user = await ports.users.userForSession(state.sessionToken);
  return state.user;
}

/**
 * preHandler for logged-in pages: lets the request through with
 * `request.ui.user` set, or sends the browser to the login page (and back here
 * afterwards). A cookie whose session has ended is cleared.
 */
export function requireUiUser(ports: WebPorts, cookies: CookiePolicy) {
  return async function uiUserGuard(request: FastifyRequest, reply: FastifyReply) {
    const user = await optionalUiUser(request, ports);
    if (user) return;
    const state = uiState(request);
    const notice = state.sessionToken ? 'session-expired' : 'login-required';
    if (state.sessionToken) {
      clearSessionCookie(reply, cookies);
      state.sessionToken = undefined;
    }
    return toLogin(request, reply, '/ui/login', notice);
  };
}

/** To a login page, and back to this page (when it was a GET) once logged in. */
function toLogin(request: FastifyRequest, reply: FastifyReply, loginPath: string, notice: string) {
  const path = request.url.split('?')[0] ?? '/ui/';
  const next = request.method === 'GET' ? safeNext(path) : undefined;
  const query = new URLSearchParams({ notice, ...(next ? { next } : {}) });
  return reply.code(303).header('location', `${loginPath}?${query}`).header('cache-control', 'no-store').send();
}

/** The logged-in user on a page behind requireUiUser. */
export function currentUser(request: FastifyRequest): UiUser {
  const user = request.ui?.user;
  if (!user) throw new Error('currentUser() on a route without requireUiUser');
  return user;
}

export function currentSession(request: FastifyRequest): string {
  const token = request.ui?.sessionToken;
  if (!token) throw new Error('currentSession() on a route without requireUiUser');
  return token;
}

/** The operator of a live operator session, or undefined; remembers the answer on the request. */
export async function optionalUiOperator(request: FastifyRequest, ports: WebPorts): Promise<UiOperator | undefined> {
  const state = uiState(request);
  if (state.operator || !state.operatorToken || !ports.operators) return state.operator;
  state.operator = await ports.operators.operatorForSession(state.operatorToken);
  return state.operator;
}

/**
 * preHandler for operator pages: lets through a live operator that `allowed`
 * accepts (403 page for another), sends anyone else to the operator login
 * (and back here afterwards), clearing a cookie whose session has ended.
 */
export function requireUiOperator(ports: WebPorts, cookies: CookiePolicy, allowed: (operator: UiOperator) => boolean, what: string) {
  return async function uiOperatorGuard(request: FastifyRequest, reply: FastifyReply) {
    const operator = await optionalUiOperator(request, ports);
    if (operator) {
      if (allowed(operator)) return;
      throw new DomainError('FORBIDDEN', `This needs ${what}; you are logged in as ${operator.role}.`);
    }
    const state = uiState(request);
    const notice = state.operatorToken ? 'session-expired' : 'login-required';
    if (state.operatorToken) {
      clearOperatorCookie(reply, cookies);
      state.operatorToken = undefined;
    }
    return toLogin(request, reply, '/ui/operator/login', notice);
  };
}

/** The merchant a portal page works on: always the operator's own (requirePortalOperator admits only operators of a merchant). */
export function currentMerchantId(request: FastifyRequest): string {
  const merchantId = currentOperator(request).merchantId;
  if (!merchantId) throw new Error('currentMerchantId() on a route without requirePortalOperator');
  return merchantId;
}

/** The logged-in operator on a page behind requireUiOperator. */
export function currentOperator(request: FastifyRequest): UiOperator {
  const operator = request.ui?.operator;
  if (!operator) throw new Error('currentOperator() on a route without requireUiOperator');
  return operator;
}

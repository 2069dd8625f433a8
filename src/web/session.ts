/**
 * Who is on the other end of a UI request: the `coffer_session` cookie (set by
 * the login page, read by the users module's own guard too) and this browser's
 * CSRF secret. `requireUiUser` is the guard every logged-in page uses.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_COOKIE, csrfToken, newCsrfSecret } from './csrf.ts';
import type { UiSession, UiUser, WebPorts } from './ports.ts';

export const SESSION_COOKIE = 'coffer_session';

export interface UiRequestState {
  csrfSecret: string | undefined;
  sessionToken: string | undefined;
  /** Set by requireUiUser (or optionalUiUser) once the session is checked. */
  user: UiUser | undefined;
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
  };
  return request.ui;
}

/** The token for this page's forms, giving the browser a CSRF secret first if it has none. */
export function csrfFor(request: FastifyRequest, reply: FastifyReply, cookies: CookiePolicy): string {
  const state = uiState(request);
  if (!state.csrfSecret) {
    state.csrfSecret = newCsrfSecret();
    setCsrfCookie(reply, state.csrfSecret, cookies);
  }
  return csrfToken(state.csrfSecret, state.sessionToken);
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
    const path = request.url.split('?')[0] ?? '/ui/';
    const next = request.method === 'GET' ? safeNext(path) : undefined;
    const query = new URLSearchParams({ notice, ...(next ? { next } : {}) });
    return reply.code(303).header('location', `/ui/login?${query}`).header('cache-control', 'no-store').send();
  };
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

import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.ts';
import { bearerTokenOf } from '../../platform/http/auth.ts';
import { sameOrigin } from '../../platform/http/same-origin.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import type { UsersService } from './users.service.ts';
import type { AuthenticatedUser } from './users.types.ts';

/**
 * User authentication for `/my/...` routes, on any module:
 *
 *   app.get('/my/things', { preHandler: app.requireUser, schema: { security: userSecurity } }, async (request) => {
 *     const user = currentUser(request); // { id, mobile, status, sessionId }
 *   });
 *
 * A session token is accepted as `Authorization: Bearer cs_...` or as the
 * `coffer_session` cookie (what the web UI uses; set by
 * `POST /auth/login {"cookie": true}`). When an Authorization header is sent
 * it decides alone: a wrong bearer token is a 401 even with a good cookie.
 */
export type UserGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `app.requireUser` on the routes it guards; null elsewhere. */
    user: AuthenticatedUser | null;
  }
  interface FastifyInstance {
    /** The user guard: `{ preHandler: app.requireUser }`; then `currentUser(request)`. */
    requireUser: UserGuard;
  }
}

export const SESSION_COOKIE = 'coffer_session';

/** Put on user routes' schemas so OpenAPI shows how to authenticate. */
export const userSecurity: Record<string, string[]>[] = [{ userSession: [] }, { userCookie: [] }];

interface OfferedToken {
  token: string;
  via: 'bearer' | 'cookie';
}

export function offeredSessionToken(request: FastifyRequest): OfferedToken | undefined | 'malformed' {
  if (request.headers.authorization !== undefined) {
    const bearer = bearerTokenOf(request);
    return bearer === undefined ? 'malformed' : { token: bearer, via: 'bearer' };
  }
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  const cookie = cookieValue(header, SESSION_COOKIE);
  return cookie ? { token: cookie, via: 'cookie' } : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookies ride along on cross-site requests; SameSite=Lax already keeps them
 * off cross-site POSTs in browsers, and this refuses any cookie-authenticated
 * write that the browser says came from another site, for browsers that
 * ignore SameSite.
 */
export function crossSiteWrite(request: FastifyRequest): boolean {
  return !SAFE_METHODS.has(request.method) && !sameOrigin(request.headers, request.headers.host);
}

function refuse(reply: FastifyReply, detail: string): never {
  reply.header('www-authenticate', 'Bearer realm="coffer-user"');
  throw new DomainError('UNAUTHORIZED', detail);
}

export function userGuard(users: UsersService): UserGuard {
  return async function requireUser(request, reply) {
    const offered = offeredSessionToken(request);
    if (offered === undefined) refuse(reply, 'Log in first: send Authorization: Bearer <token> or the session cookie');
    if (offered === 'malformed') refuse(reply, 'The Authorization header must be: Bearer <token>');
    if (offered.via === 'cookie' && crossSiteWrite(request)) {
      throw new DomainError('FORBIDDEN', 'A cookie-authenticated write must come from this site');
    }
    const user = await users.authenticate(offered.token);
    if (!user) refuse(reply, 'The session is unknown, expired or logged out: log in again');
    request.user = user;
    // What a user sees is theirs alone: no shared cache may keep it.
    reply.header('cache-control', 'private, no-store');
  };
}

/** The logged-in user on a route behind `app.requireUser`. */
export function currentUser(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw new DomainError('UNAUTHORIZED', 'Log in first');
  return request.user;
}

/**
 * Cookies are read and written here rather than with @fastify/cookie: its
 * static helpers only work once the plugin is registered on some scope, and
 * the one cookie Coffer sets holds only base64url characters (nothing to encode).
 */
function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function setCookieHeader(value: string, expiresAt: Date, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Expires=${expiresAt.toUTCString()}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The session cookie: HttpOnly (no script reads it), SameSite=Lax, Secure when PUBLIC_URL is https. */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  return setCookieHeader(token, expiresAt, secure);
}

export function clearedSessionCookie(secure: boolean): string {
  return setCookieHeader('', new Date(0), secure);
}

/**
 * App-wide (registered on the root app before any module, see
 * `HttpServerDeps.plugins`): decorates `request.user` and `app.requireUser`
 * so every module's routes can require a logged-in user.
 */
export function userAuthPlugin(users: UsersService): HttpModule {
  return {
    name: 'users.auth',
    register(app) {
      app.decorateRequest('user', null);
      app.decorate('requireUser', userGuard(users));
    },
  };
}

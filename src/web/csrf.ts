/**
 * CSRF protection for every form the UI serves.
 *
 * Each browser gets a random secret in the `coffer_csrf` cookie (HttpOnly,
 * SameSite=Lax). The token in a form's hidden `_csrf` input is
 * HMAC-SHA256(secret, "coffer-ui-csrf|" + session token), so it is per browser
 * and, once logged in, per session: logging in or out changes every token, and
 * a planted csrf cookie is useless without the victim's session token (HttpOnly
 * too). No server key is involved, so any Coffer process can check any token.
 * A POST is refused unless the token matches, and when the browser says it
 * came from another origin (sameOrigin). SameSite cookies are the second fence, not the only one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CSRF_COOKIE = 'coffer_csrf';
export const CSRF_FIELD = '_csrf';

export function newCsrfSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function csrfToken(secret: string, sessionToken: string | undefined): string {
  return createHmac('sha256', secret)
    .update(`coffer-ui-csrf|${sessionToken ?? ''}`)
    .digest('base64url');
}

export function csrfTokenMatches(secret: string | undefined, sessionToken: string | undefined, offered: unknown): boolean {
  if (!secret || typeof offered !== 'string' || offered.length === 0) return false;
  const expected = Buffer.from(csrfToken(secret, sessionToken));
  const given = Buffer.from(offered);
  return expected.length === given.length && timingSafeEqual(expected, given);
}


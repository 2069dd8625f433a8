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

/**
 * Where a POST came from, as the browser tells it. `Sec-Fetch-Site` must be
 * same-origin when sent (a sibling port or subdomain is "same-site" and still
 * refused); an `Origin` must be our host. Pages are served with
 * Referrer-Policy no-referrer, under which Chromium sends `Origin: null` for
 * its own form posts, so "null" defers to Sec-Fetch-Site. Neither header
 * (older browsers) is allowed: the token still decides.
 */
export function sameOrigin(
  headers: { origin?: string | undefined; 'sec-fetch-site'?: string | string[] | undefined },
  host: string | undefined,
): boolean {
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
  const origin = headers.origin;
  if (origin === undefined || origin === 'null') return fetchSite === 'same-origin' || origin === undefined;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

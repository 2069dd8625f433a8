/**
 * Where a POST came from, as the browser tells it. `Sec-Fetch-Site` must be
 * same-origin when sent (a sibling port or subdomain is "same-site" and still
 * refused); an `Origin` must be our host. Coffer's pages are served
 * with Referrer-Policy no-referrer, under which Chromium sends `Origin: null` for
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

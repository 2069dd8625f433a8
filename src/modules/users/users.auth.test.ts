import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { clearedSessionCookie, crossSiteWrite, offeredSessionToken, sessionCookie } from './users.auth.ts';

const request = (headers: Record<string, string>, method = 'GET') => ({ headers, method }) as unknown as FastifyRequest;

describe('session cookie and token extraction', () => {
  test('the cookie is HttpOnly, SameSite=Lax, for the whole site, and Secure only when asked', () => {
    const expires = new Date('2026-11-23T08:00:00.000Z');
    assert.equal(sessionCookie('cs_abc', expires, false), 'coffer_session=cs_abc; Path=/; Expires=Mon, 23 Nov 2026 08:00:00 GMT; HttpOnly; SameSite=Lax');
    assert.match(sessionCookie('cs_abc', expires, true), /; Secure$/);
    assert.match(clearedSessionCookie(true), /^coffer_session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax; Secure$/);
  });

  test('a bearer token wins over the cookie; the cookie is found among others', () => {
    assert.deepEqual(offeredSessionToken(request({ authorization: 'Bearer cs_1', cookie: 'coffer_session=cs_2' })), { token: 'cs_1', via: 'bearer' });
    assert.deepEqual(offeredSessionToken(request({ cookie: 'a=1; coffer_session=cs_2; b=3' })), { token: 'cs_2', via: 'cookie' });
    assert.equal(offeredSessionToken(request({ authorization: 'Basic xyz', cookie: 'coffer_session=cs_2' })), 'malformed');
    assert.equal(offeredSessionToken(request({ cookie: 'other_session=cs_2' })), undefined);
    assert.equal(offeredSessionToken(request({ cookie: 'coffer_session=' })), undefined);
    assert.equal(offeredSessionToken(request({})), undefined);
  });

  test('only writes from another site are cross-site', () => {
    assert.equal(crossSiteWrite(request({ host: 'coffer.test', origin: 'https://evil.test' }, 'POST')), true);
    assert.equal(crossSiteWrite(request({ host: 'coffer.test', origin: 'https://coffer.test' }, 'POST')), false);
    assert.equal(crossSiteWrite(request({ host: 'coffer.test' }, 'POST')), false);
    assert.equal(crossSiteWrite(request({ host: 'coffer.test', origin: 'null' }, 'POST')), true);
    // Chromium under Referrer-Policy no-referrer sends Origin: null for same-origin posts, with Sec-Fetch-Site.
    assert.equal(crossSiteWrite(request({ host: 'coffer.test', origin: 'null', 'sec-fetch-site': 'same-origin' }, 'POST')), false);
    assert.equal(crossSiteWrite(request({ host: 'coffer.test', origin: 'https://coffer.test', 'sec-fetch-site': 'cross-site' }, 'POST')), true);
    assert.equal(crossSiteWrite(request({ host: 'coffer.test', origin: 'https://evil.test' }, 'GET')), false);
  });
});

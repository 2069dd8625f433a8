/**
 * Fast tests of the UI's safety pieces: CSRF tokens and origin checks, the
 * login page's `next`, the CSP, and (through app.inject, on fake ports) that
 * pages escape user data and refuse forms without the token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../platform/config.ts';
import { DomainError } from '../platform/errors.ts';
import { buildHttpServer, type CofferApp } from '../platform/http/server.ts';
import { createLogger } from '../platform/log.ts';
import { createMetrics } from '../platform/metrics.ts';
import { openTestStore } from '../../test/support/stores.ts';
import { uiContentSecurityPolicy } from './csp.ts';
import { CSRF_COOKIE, csrfToken, csrfTokenMatches, newCsrfSecret } from './csrf.ts';
import { sameOrigin } from '../platform/http/same-origin.ts';
import { webHttpModule } from './index.ts';
import type { UiCard, WebUsers, WebWallets } from './ports.ts';
import { safeNext } from './session.ts';

describe('CSRF tokens', () => {
  test('a token matches only its own browser secret and session', () => {
    const secret = newCsrfSecret();
    const token = csrfToken(secret, 'cs_session-a');
    assert.ok(csrfTokenMatches(secret, 'cs_session-a', token));
    assert.ok(!csrfTokenMatches(secret, 'cs_session-b', token), 'another session');
    assert.ok(!csrfTokenMatches(secret, undefined, token), 'logged out');
    assert.ok(!csrfTokenMatches(newCsrfSecret(), 'cs_session-a', token), 'another browser');
    assert.ok(!csrfTokenMatches(undefined, 'cs_session-a', token), 'no secret cookie');
    assert.ok(!csrfTokenMatches(secret, 'cs_session-a', ''), 'empty');
    assert.ok(!csrfTokenMatches(secret, 'cs_session-a', token.slice(1)), 'another length');
    assert.ok(!csrfTokenMatches(secret, 'cs_session-a', [token]), 'not a string');
  });

  test('the origin check refuses other sites and trusts Sec-Fetch-Site for Origin: null', () => {
    const host = 'localhost:3000';
    assert.ok(sameOrigin({ origin: 'http://localhost:3000' }, host));
    assert.ok(sameOrigin({}, host), 'no headers at all: the token decides');
    assert.ok(sameOrigin({ origin: 'null', 'sec-fetch-site': 'same-origin' }, host));
    assert.ok(!sameOrigin({ origin: 'null' }, host), 'null with nothing else');
    assert.ok(!sameOrigin({ origin: 'http://localhost:3001' }, host), 'a sibling port');
    assert.ok(!sameOrigin({ origin: 'https://evil.example' }, host));
    assert.ok(!sameOrigin({ origin: 'http://localhost:3000', 'sec-fetch-site': 'same-site' }, host));
    assert.ok(!sameOrigin({ 'sec-fetch-site': 'cross-site' }, host));
    assert.ok(!sameOrigin({ origin: 'not a url' }, host));
  });
});

test('the login page only sends people back to UI paths', () => {
  assert.equal(safeNext('/ui/bill'), '/ui/bill');
  for (const bad of ['//evil.example', '/ui//evil.example', 'https://evil.example/ui/', '/admin', '/ui/bill?x=1', '/ui/../x', undefined, 3]) {
    assert.equal(safeNext(bad), undefined, String(bad));
  }
});

test('the CSP allows only our own scripts and styles, and forms to the origins named', () => {
  const csp = uiContentSecurityPolicy({ formActionOrigins: ['https://bank.example'] });
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /style-src 'self';/);
  assert.match(csp, /form-action 'self' https:\/\/bank\.example;/);
  assert.doesNotMatch(csp, /unsafe/);
});

describe('UI pages through the HTTP stack (fake users)', () => {
  const evilMobile = '<script>alert(1)</script>';
  const users: WebUsers = {
    async register() {},
    async login(mobile) {
      if (mobile === 'wrong') throw new DomainError('INVALID_CREDENTIALS', 'no');
      return { token: 'cs_token', expiresAt: new Date(Date.now() + 60_000) };
    },
    async logout() {},
    async userForSession(token) {
      return token === 'cs_token' ? { id: 'usr_1', mobile: evilMobile, status: 'ACTIVE' } : undefined;
    },
  };
  let app: CofferApp;
  let dispose: () => Promise<void>;

  before(async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    app = await buildHttpServer({
      config,
      store,
      logger: createLogger(config),
      metrics: createMetrics(),
      modules: [webHttpModule({ publicUrl: 'http://localhost', ports: { users } })],
    });
    dispose = async () => {
      await app.close();
      await store.dispose();
    };
  });
  after(() => dispose?.());

  async function loginPage() {
    const page = await app.inject({ method: 'GET', url: '/ui/login' });
    const secret = /coffer_csrf=([^;]+)/.exec(String(page.headers['set-cookie']))?.[1];
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(secret && token);
    return { page, cookie: `${CSRF_COOKIE}=${secret}`, token };
  }

  test('a login post needs the token; with it, the session cookie is set', async () => {
    const { page, cookie, token } = await loginPage();
    assert.match(String(page.headers['content-security-policy']), /script-src 'self';/);
    const form = { 'content-type': 'application/x-www-form-urlencoded', cookie, host: 'localhost' };
    const refused = await app.inject({ method: 'POST', url: '/ui/login', headers: form, payload: 'mobile=m&password=p' });
    assert.equal(refused.statusCode, 403);
    assert.match(refused.headers['content-type'] as string, /^text\/html/);
    const ok = await app.inject({ method: 'POST', url: '/ui/login', headers: form, payload: `mobile=m&password=p&_csrf=${token}` });
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/ui/wallet');
    assert.match(String(ok.headers['set-cookie']), /coffer_session=cs_token;.*HttpOnly; SameSite=Lax/);
  });

  test('a failed login re-renders the form with the message, escaped', async () => {
    const { cookie, token } = await loginPage();
    const answer = await app.inject({
      method: 'POST',
      url: '/ui/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      payload: `mobile=wrong&password=p&_csrf=${token}`,
    });
    assert.equal(answer.statusCode, 401);
    assert.match(answer.body, /The mobile number or password is wrong\./);
  });

  test('user data is escaped on every page', async () => {
    const answer = await app.inject({ method: 'GET', url: '/ui/cards', headers: { cookie: 'coffer_session=cs_token' } });
    assert.ok(!answer.body.includes(evilMobile), 'the raw script tag is not in the page');
    assert.ok(answer.body.includes('&lt;script>alert(1)&lt;/script>'));
  });

  test('an unknown /ui/ address is an HTML page, not the API\'s JSON', async () => {
    const answer = await app.inject({ method: 'GET', url: '/ui/no-such-page' });
    assert.equal(answer.statusCode, 404);
    assert.match(answer.headers['content-type'] as string, /^text\/html/);
    assert.match(answer.body, /Page not found/);
    assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/);
  });

  test('the JSON API keeps the platform policy; / goes to the UI', async () => {
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    assert.match(String(health.headers['content-security-policy']), /style-src 'self' 'unsafe-inline'/);
    const root = await app.inject({ method: 'GET', url: '/' });
    assert.equal(root.statusCode, 303);
    assert.equal(root.headers.location, '/ui/');
  });
});

describe('the Cards page (fake wallets)', () => {
  const removed: string[] = [];
  let failWith: DomainError | undefined;
  const cards: UiCard[] = [
    { id: 'card_a', cardNumberMasked: '6222********0001', bankCode: 'ICBC' },
    { id: 'card_b', cardNumberMasked: '6217********0002', bankCode: 'CMB' },
  ];
  const unused = async (): Promise<never> => {
    throw new DomainError('SERVICE_UNAVAILABLE');
  };
  const wallets: WebWallets = {
    wallets: unused,
    openDepositoryAccount: unused,
    recharge: unused,
    withdraw: unused,
    verifyWithdraw: unused,
    continueWithdraw: unused,
    rechargeRecords: unused,
    withdrawRecords: unused,
    entries: unused,
    async cards() {
      return cards.filter((c) => !removed.includes(c.id));
    },
    async bindCard(_session, callbackUrl) {
      if (failWith) throw failWith;
      return { serviceName: 'BIND_CARD', platformNo: 'p', reqData: JSON.stringify({ callbackUrl }), signature: 'sig', depositoryUrl: 'https://bank.example/gateway' };
    },
    async removeCard(session, id) {
      assert.equal(session, 'cs_token');
      if (failWith) throw failWith;
      removed.push(id);
    },
  };
  const users: WebUsers = {
    async register() {},
    async login() {
      return { token: 'cs_token', expiresAt: new Date(Date.now() + 60_000) };
    },
    async logout() {},
    async userForSession(token) {
      return token === 'cs_token' ? { id: 'usr_1', mobile: '13700000000', status: 'ACTIVE' } : undefined;
    },
  };
  let app: CofferApp;
  let dispose: () => Promise<void>;
  const secret = newCsrfSecret();
  const headers = { cookie: `${CSRF_COOKIE}=${secret}; coffer_session=cs_token`, host: 'localhost', 'content-type': 'application/x-www-form-urlencoded' };
  const token = csrfToken(secret, 'cs_token');

  before(async () => {
    const store = await openTestStore('pglite');
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    app = await buildHttpServer({
      config,
      store,
      logger: createLogger(config),
      metrics: createMetrics(),
      modules: [webHttpModule({ publicUrl: 'http://localhost', ports: { users, wallets } })],
    });
    dispose = async () => {
      await app.close();
      await store.dispose();
    };
  });
  after(() => dispose?.());

  test('lists the cards, each with a Remove form carrying the CSRF token, and an Add a card form', async () => {
    const page = await app.inject({ method: 'GET', url: '/ui/cards', headers });
    assert.equal(page.statusCode, 200);
    for (const id of ['card_a', 'card_b']) {
      assert.match(page.body, new RegExp(`<form method="post" action="/ui/cards/${id}/remove"[^>]*><input type="hidden" name="_csrf" value="${token}"`));
    }
    assert.match(page.body, /action="\/ui\/cards\/add"[^>]*hx-boost="false"/);
    assert.match(page.body, />Add a card</);
  });

  test('Remove needs the token; with it the card goes and the page says so; CARD_IN_USE is shown as a message', async () => {
    const refused = await app.inject({ method: 'POST', url: '/ui/cards/card_a/remove', headers, payload: '' });
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(removed, []);
    failWith = new DomainError('CARD_IN_USE');
    const inUse = await app.inject({ method: 'POST', url: '/ui/cards/card_a/remove', headers, payload: `_csrf=${token}` });
    assert.equal(inUse.statusCode, 409);
    assert.match(inUse.body, /A withdrawal to this card is still in progress/);
    failWith = undefined;
    const done = await app.inject({ method: 'POST', url: '/ui/cards/card_a/remove', headers, payload: `_csrf=${token}` });
    assert.equal(done.statusCode, 303);
    assert.equal(done.headers.location, '/ui/cards?notice=card-removed');
    assert.deepEqual(removed, ['card_a']);
    const after = await app.inject({ method: 'GET', url: '/ui/cards?notice=card-removed', headers });
    assert.match(after.body, /The card was removed\./);
    assert.doesNotMatch(after.body, /card_a/);
  });

  test('Add a card hands over the bank form (CSP allows the bank); no account is a clear message; a FAIL from the bank is said', async () => {
    const add = await app.inject({ method: 'POST', url: '/ui/cards/add', headers, payload: `_csrf=${token}` });
    assert.equal(add.statusCode, 200);
    assert.match(add.body, /action="https:\/\/bank\.example\/gateway"/);
    assert.match(add.body, /name="serviceName" value="BIND_CARD"/);
    assert.match(String(add.headers['content-security-policy']), /form-action 'self' https:\/\/bank\.example/);
    failWith = new DomainError('ACCOUNT_NOT_OPENED');
    const noAccount = await app.inject({ method: 'POST', url: '/ui/cards/add', headers, payload: `_csrf=${token}` });
    failWith = undefined;
    assert.equal(noAccount.statusCode, 409);
    assert.match(noAccount.body, /Open your depository account first/);
    const failed = await app.inject({ method: 'GET', url: '/ui/cards?notice=card-bank-returned&requestNo=R1&status=FAIL', headers });
    assert.equal(failed.statusCode, 303);
    assert.equal(failed.headers.location, '/ui/cards?notice=card-bank-failed');
  });
});

/**
 * The wallet UI in a real headless Chromium against a real Coffer server:
 * registration, login, logout, error messages, CSRF refusals and the
 * Content-Security-Policy, with a screenshot of every page under
 * test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  browserSuiteSkip,
  launchBrowser,
  logIn,
  newMobile,
  newPage,
  PASSWORD,
  register,
  screenshot,
  startTestCoffer,
  submitForm,
  type TestCoffer,
} from './support.ts';

const skip = browserSuiteSkip();
const ADMIN_TOKEN = 'browser-admin-token-5b2e';

describe('wallet UI in a browser: accounts, CSRF and CSP', { skip }, () => {
  let server: TestCoffer;
  let browser: Browser;
  let base: string;

  before(async () => {
    server = await startTestCoffer({ ADMIN_TOKEN });
    base = server.coffer.url;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('register, log in and land on the wallet page, with htmx enhancing the forms', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await page.goto('/');
      await page.waitForURL('**/ui/login');
      await screenshot(page, '01-login');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.waitForURL('**/ui/register');
      await screenshot(page, '02-register');
      await submitForm(page, { mobile, password: PASSWORD }, 'Create account');
      await page.waitForURL('**/ui/login?notice=registered');
      assert.match(await page.getByTestId('flash-notice').innerText(), /Your account is ready/);
      assert.equal(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx), 'object', 'htmx is loaded');

      await submitForm(page, { mobile, password: PASSWORD }, 'Log in');
      await page.waitForURL('**/ui/wallet');
      await page.getByRole('heading', { name: 'Wallet' }).waitFor();
      assert.equal(await page.getByTestId('current-user').innerText(), mobile);
      assert.equal(await page.getByRole('link', { name: 'Wallet' }).getAttribute('aria-current'), 'page');
      await screenshot(page, '03-wallet');

      // A logged-in visitor of / goes straight to the wallet.
      await page.goto('/');
      await page.waitForURL('**/ui/wallet');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('the forms work with JavaScript off (htmx is only an enhancement)', async () => {
    const { context, page, watch } = await newPage(browser, base, { javaScriptEnabled: false });
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await logIn(page, mobile);
      assert.equal(await page.getByTestId('current-user').innerText(), mobile);
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL('**/ui/login?notice=logged-out');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('a wrong password shows the error, keeps the mobile and does not log in', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await submitForm(page, { mobile, password: 'Not-the-password-9' }, 'Log in');
      const flash = page.getByTestId('flash-error');
      await flash.waitFor();
      assert.equal(await flash.innerText(), 'The mobile number or password is wrong.');
      assert.equal(await page.locator('input[name="mobile"]').inputValue(), mobile);
      assert.equal(await page.locator('input[name="password"]').inputValue(), '', 'a password is never sent back');
      await screenshot(page, '04-login-wrong-password');
      const cookies = await context.cookies();
      assert.equal(cookies.find((c) => c.name === 'coffer_session'), undefined, 'no session cookie');

      // Registration problems show per field.
      await page.goto('/ui/register');
      await submitForm(page, { mobile: '12345', password: 'short' }, 'Create account');
      await page.locator('.field-error').first().waitFor();
      assert.equal(await page.locator('.field-invalid').count(), 2);
      await screenshot(page, '05-register-invalid');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('user input is shown as text, never as markup', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const evil = '"><img src=x id=injected onerror=alert(1)>';
      await page.goto('/ui/login');
      await submitForm(page, { mobile: evil, password: 'whatever-1A' }, 'Log in');
      await page.getByTestId('flash-error').waitFor();
      assert.equal(await page.locator('#injected').count(), 0);
      assert.equal(await page.locator('input[name="mobile"]').inputValue(), evil);
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('a form post without this browser\'s CSRF token is refused', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);

      // The login form with its token taken out, submitted by the browser.
      await page.locator('input[name="_csrf"]').evaluate((input) => input.remove());
      await submitForm(page, { mobile, password: PASSWORD }, 'Log in');
      await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
      assert.match(await page.getByTestId('flash-error').innerText(), /expired or did not come from this site/);
      await screenshot(page, '06-csrf-refused');
      assert.equal((await context.cookies()).find((c) => c.name === 'coffer_session'), undefined, 'not logged in');

      // Straight HTTP with the browser's cookies: no token, a made-up token, another origin.
      const form = { mobile, password: PASSWORD };
      assert.equal((await context.request.post(`${base}/ui/login`, { form, maxRedirects: 0 })).status(), 403);
      assert.equal((await context.request.post(`${base}/ui/login`, { form: { ...form, _csrf: 'x'.repeat(43) }, maxRedirects: 0 })).status(), 403);
      await page.goto('/ui/login');
      const token = await page.locator('input[name="_csrf"]').inputValue();
      const crossSite = await context.request.post(`${base}/ui/login`, {
        form: { ...form, _csrf: token },
        headers: { origin: 'https://evil.example' },
        maxRedirects: 0,
      });
      assert.equal(crossSite.status(), 403);
      // The same token from this origin is accepted: the refusals above were about the token and origin.
      const sameSite = await context.request.post(`${base}/ui/login`, { form: { ...form, _csrf: token }, maxRedirects: 0 });
      assert.equal(sameSite.status(), 303);
      assert.equal(sameSite.headers().location, '/ui/wallet');

      // Logging in changed the session, so the pre-login token no longer works.
      const stale = await context.request.post(`${base}/ui/logout`, { form: { _csrf: token }, maxRedirects: 0 });
      assert.equal(stale.status(), 403);
      await page.goto('/ui/wallet');
      assert.equal(await page.getByTestId('current-user').innerText(), mobile, 'still logged in');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('every page has the strict CSP and the browser reports no violation of it', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await logIn(page, mobile);
      const pages = ['/ui/login', '/ui/register', '/ui/logout', '/ui/wallet', '/ui/recharge', '/ui/withdraw', '/ui/bill', '/ui/records', '/ui/cards'];
      for (const path of pages) {
        const response = await page.goto(path);
        assert.ok(response, path);
        const csp = response.headers()['content-security-policy'] ?? '';
        assert.match(csp, /default-src 'none'/, path);
        assert.match(csp, /script-src 'self'(;|$)/, path);
        assert.match(csp, /style-src 'self'(;|$)/, path);
        assert.match(csp, /form-action 'self'(;|$)/, path);
        assert.match(csp, /frame-ancestors 'none'/, path);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
        assert.equal(response.headers()['cache-control'], 'no-store', path);
        assert.equal(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx), 'object', `htmx runs on ${path}`);
        await screenshot(page, `10-page${path.replaceAll('/', '-')}`);
      }
      watch.assertClean();

      // The watcher sees violations: an inline script is blocked and reported.
      const ran = await page.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.body.append(script);
        return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
      });
      assert.equal(ran, false, 'the inline script did not run');
      for (let waited = 0; watch.cspViolations.length === 0 && waited < 5000; waited += 50) await page.waitForTimeout(50);
      assert.ok(watch.cspViolations.length > 0, 'the console reported the violation');
    } finally {
      await context.close();
    }
  });

  test('pages behind login send a visitor to log in and then back', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await page.goto('/ui/bill');
      await page.waitForURL('**/ui/login?notice=login-required&next=%2Fui%2Fbill');
      assert.match(await page.getByTestId('flash-notice').innerText(), /Please log in/);
      await submitForm(page, { mobile, password: PASSWORD }, 'Log in');
      await page.waitForURL('**/ui/bill');

      // A session ended elsewhere (here: the API's logout with the same token) ends the UI's too.
      const token = (await context.cookies()).find((c) => c.name === 'coffer_session')?.value;
      assert.ok(token);
      const revoked = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(revoked.status, 204);
      await page.goto('/ui/records');
      await page.waitForURL('**/ui/login?notice=session-expired&next=%2Fui%2Frecords');
      assert.match(await page.getByTestId('flash-notice').innerText(), /Your session has ended/);
      assert.equal((await context.cookies()).find((c) => c.name === 'coffer_session'), undefined, 'the dead cookie is cleared');
      await logIn(page, mobile);

      await page.goto('/ui/logout');
      await screenshot(page, '07-logout');
      await page.locator('main').getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL('**/ui/login?notice=logged-out');
      await page.goto('/ui/wallet');
      await page.waitForURL('**/ui/login?notice=login-required&next=%2Fui%2Fwallet');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });

  test('a frozen user can look but is told no money can move', async () => {
    const { context, page, watch } = await newPage(browser, base);
    try {
      const mobile = newMobile();
      await register(page, mobile);
      await logIn(page, mobile);
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const found = (await (await fetch(`${base}/admin/users?mobile=${mobile}`, { headers: admin })).json()) as { data: { userId: string }[] };
      const frozen = await fetch(`${base}/admin/users/${found.data[0]!.userId}/freeze`, { method: 'POST', headers: admin });
      assert.equal(frozen.status, 200);

      await page.goto('/ui/wallet');
      assert.match(await page.getByTestId('flash-error').innerText(), /frozen/);
      assert.equal(await page.locator('.userbar .badge').innerText(), 'frozen');
      await page.goto('/ui/recharge');
      await submitForm(page, { amount: '10.00' }, 'Recharge');
      await page.getByTestId('flash-error').waitFor();
      assert.match(await page.getByTestId('flash-error').innerText(), /Your account is frozen/);
      await screenshot(page, '08-frozen-recharge');
      watch.assertClean();
    } finally {
      await context.close();
    }
  });
});

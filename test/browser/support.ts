/**
 * The browser harness: a real Coffer server (startCoffer on a temp DATA_DIR,
 * PORT=0) and headless Chromium driven by playwright-core. Where Chromium is
 * not installed the suite is skipped loudly, except under CI, where that is a
 * failure (CI must run the browser tests).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { startCoffer, type RunningCoffer, type StartOptions } from '../../src/main.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/log.ts';
import { ensureKeyPair } from '../../src/protocol/depository.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/browser/', import.meta.url));

/**
 * `{ skip }` for describe(): false when Chromium is there. Without it, a CI
 * run fails (throws here, at load) and a local run skips with a banner.
 */
export function browserSuiteSkip(): false | string {
  if (fs.existsSync(CHROMIUM_PATH)) return false;
  const why = `Chromium not found at ${CHROMIUM_PATH} (apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`CI is set and the browser suite cannot run: ${why}`);
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! BROWSER TESTS SKIPPED: ${why}\n${bar}\n`);
  return `SKIPPED: ${why}`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Users' password hashing made cheap: the browser tests are about pages, not scrypt. */
export const FAST_USERS: StartOptions = { users: { scrypt: { ln: 10, r: 8, p: 1 } } };

export interface TestCoffer {
  coffer: RunningCoffer;
  dataDir: string;
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-browser-'));
}

/** A Coffer server on its own DATA_DIR (removed on close), logs off, users' hashing cheap. */
export async function startTestCoffer(
  env: Record<string, string> = {},
  options: StartOptions = FAST_USERS,
  dataDir = tempDataDir(),
): Promise<TestCoffer> {
  const config = loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
  const coffer = await startCoffer(config, createLogger(config), options);
  return {
    coffer,
    dataDir,
    async close() {
      await coffer.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let mobileCounter = 0;
/** A China mobile number unique to this run. */
export function newMobile(): string {
  mobileCounter += 1;
  const tail = (Date.now() % 1_000_000) * 100 + mobileCounter;
  return `137${String(tail).padStart(8, '0').slice(-8)}`;
}

export const PASSWORD = 'Browser-pass-1';

/**
 * Everything a page said that a test must not ignore: CSP violations (the
 * console reports each one) and uncaught script errors.
 */
export class PageWatch {
  readonly consoleErrors: string[] = [];
  readonly cspViolations: string[] = [];
  readonly pageErrors: string[] = [];

  constructor(page: Page) {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error' && message.type() !== 'warning') return;
      const text = message.text();
      if (/Content[- ]Security[- ]Policy/i.test(text)) this.cspViolations.push(text);
      // A 4xx page (a refused form) is logged by Chromium; the tests assert statuses themselves.
      else if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
      else if (message.type() === 'error') this.consoleErrors.push(text);
    });
    page.on('pageerror', (error) => this.pageErrors.push(String(error)));
  }

  assertClean(): void {
    assert.deepEqual(this.cspViolations, [], 'no Content-Security-Policy violations');
    assert.deepEqual(this.pageErrors, [], 'no uncaught script errors');
    assert.deepEqual(this.consoleErrors, [], 'no console errors');
  }
}

export async function newPage(browser: Browser, baseURL: string, options: { javaScriptEnabled?: boolean } = {}) {
  const context: BrowserContext = await browser.newContext({ baseURL, javaScriptEnabled: options.javaScriptEnabled ?? true });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  return { context, page, watch: new PageWatch(page) };
}

/**
 * A full-page screenshot under test-artifacts/browser/ (gitignored), named
 * after the step. It is an artifact, not an assertion: Chromium can refuse a
 * capture while a busy machine is still painting, so it waits for the page to
 * settle and retries; if it still cannot, it says so and the test goes on.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    try {
      await page.waitForLoadState('load');
      await page.screenshot({ path: file, fullPage: attempt < 3, timeout: 5_000 });
      return;
    } catch (err) {
      lastError = err;
      await page.waitForTimeout(200 * attempt);
    }
  }
  console.warn(`screenshot ${name} not saved: ${String(lastError).split('\n')[0]}`);
}

export async function register(page: Page, mobile: string, password = PASSWORD): Promise<void> {
  await page.goto('/ui/register');
  await submitForm(page, { mobile, password }, 'Create account');
  await page.waitForURL('**/ui/login?notice=registered');
}

export async function logIn(page: Page, mobile: string, password = PASSWORD): Promise<void> {
  await page.goto('/ui/login');
  await submitForm(page, { mobile, password }, 'Log in');
  await page.waitForURL('**/ui/wallet');
}

/** A port free right now, for a server that must know its own URL before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface BankChild {
  url: string;
  output(): string;
  stop(): Promise<void>;
  /** kill -9: the bank dies mid-whatever, as in a power cut. */
  kill(): Promise<void>;
}

/**
 * The bank depository simulator as the separate program it is
 * (`node --import tsx src/bank-simulator/main.ts`), on the same DATA_DIR as
 * Coffer so each finds the other's public key there (as `npm start` does).
 */
export async function startBankChild(env: Record<string, string>): Promise<BankChild> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, BANK_PORT: '0', LOG_LEVEL: 'warn', ...env };
  delete childEnv.BANK_DATABASE_URL;
  const main = fileURLToPath(new URL('../../src/bank-simulator/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bank simulator did not start in 90 s:\n${output}`)), 90_000);
      const check = () => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bank simulator exited with ${code}:\n${output}`));
      });
    });
    const kill = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    return { url, output: () => output, stop, kill };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Fills and submits a form the way a person would: typing, then pressing its button. */
export async function submitForm(page: Page, fields: Record<string, string>, button: string): Promise<void> {
  for (const [name, value] of Object.entries(fields)) await page.locator(`input[name="${name}"]`).fill(value);
  await page.getByRole('button', { name: button }).click();
}

/** Reloads `pagePath` until `ready` holds: notifications, payments and jobs land asynchronously. */
export async function eventuallyOn(page: Page, pagePath: string, ready: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.goto(pagePath);
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on ${pagePath}`);
    await page.waitForTimeout(200);
  }
}

/** On the bank's confirmation result: it either redirects at once or offers a button back. */
export async function backFromBank(page: Page, base: string): Promise<void> {
  const back = page.getByRole('button', { name: 'Return to the platform' });
  await Promise.race([page.waitForURL(`${base}/**`), back.waitFor()]);
  if (!page.url().startsWith(base)) await back.click();
  await page.waitForURL(`${base}/**`);
}

export const TRANSACTION_PASSWORD = 'bank-pass-123';

/**
 * Opens the logged-in person's depository account the way they would: the
 * wallet's button, the bank's hosted page (name, ID, a debit card, a
 * transaction password), back to the wallet once the bank has told Coffer.
 * (ui-bank.test.ts walks the same steps asserting each one.)
 */
export async function openDepositoryAccount(page: Page, base: string, mobile: string): Promise<void> {
  await page.goto('/ui/wallet');
  await page.getByRole('button', { name: 'Open depository account' }).click();
  await page.getByRole('button', { name: 'Continue to your bank' }).click();
  await page.waitForURL((url) => !url.href.startsWith(base));
  const card = `6222${String(Date.now()).slice(-8)}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
  await submitForm(
    page,
    { realName: 'Zhang San', idNumber: '11010119900307123X', cardNumber: card, bankCode: 'ICBC', mobile, password: TRANSACTION_PASSWORD, passwordConfirm: TRANSACTION_PASSWORD },
    'Open account',
  );
  await backFromBank(page, base);
  await eventuallyOn(page, '/ui/wallet', () => page.getByTestId('wallets').isVisible(), 'the opened wallet');
}

export interface BankRig {
  dataDir: string;
  bank: BankChild;
  server: TestCoffer;
  /** Coffer's address. */
  base: string;
  browser: Browser;
  /** Closes the browser, the bank and Coffer (which removes the data folder, the bank's included). */
  stop(): Promise<void>;
}

/**
 * What `npm start` runs, for a browser suite: both key pairs in one data folder first, the bank
 * simulator as its own process (notifying fast), Coffer beside it on that folder, and Chromium.
 * `bankEnv` and `cofferEnv` add to (or override) the settings every such suite needs.
 */
export async function startBankRig(rig: {
  platformNo: string;
  bankEnv?: Record<string, string>;
  cofferEnv?: Record<string, string>;
  options?: StartOptions;
}): Promise<BankRig> {
  const dataDir = tempDataDir();
  ensureKeyPair(path.join(dataDir, 'keys'), 'platform');
  ensureKeyPair(path.join(dataDir, 'bank', 'keys'), 'bank');
  const port = await freePort();
  const bank = await startBankChild({ DATA_DIR: dataDir, PLATFORM_NO: rig.platformNo, BANK_NOTIFY_POLL_MS: '50', BANK_NOTIFY_SCALE: '0.001', ...rig.bankEnv });
  let server: TestCoffer | undefined;
  let browser: Browser;
  try {
    server = await startTestCoffer(
      { PORT: String(port), PLATFORM_NO: rig.platformNo, BANK_PUBLIC_URL: bank.url, BANK_URL: bank.url, OUTBOX_POLL_INTERVAL_MS: '25', ...rig.cofferEnv },
      rig.options ?? FAST_USERS,
      dataDir,
    );
    browser = await launchBrowser();
  } catch (err) {
    await bank.stop();
    await server?.close();
    throw err;
  }
  return {
    dataDir,
    bank,
    server,
    base: server.coffer.url,
    browser,
    async stop() {
      await browser.close();
      await bank.stop();
      await server!.close();
    },
  };
}

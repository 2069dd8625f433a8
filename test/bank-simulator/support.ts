/**
 * Test kit for the bank simulator: a platform key pair, a fake platform that
 * receives and verifies the bank's notifications, and helpers that drive the
 * hosted pages the way a browser would (form posts, 303 redirects).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import {
  type BankResultData,
  type GatewayRequest,
  ensureKeyPair,
  type KeyPair,
  loadPublicKey,
  type PlatformRequestData,
  type ServiceName,
  signText,
  verifyText,
} from '../../src/protocol/depository.ts';
import { loadBankConfig } from '../../src/bank-simulator/config.ts';
import { type RunningBankSimulator, startBankSimulator } from '../../src/bank-simulator/main.ts';

export const PLATFORM_NO = 'coffer-test';

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bank-${label}-`));
}

/**
 * RSA 3072 generation takes seconds, so test key pairs are made once per
 * machine and copied into each temp folder (they protect nothing).
 */
const KEY_CACHE = path.join(os.tmpdir(), 'coffer-bank-simulator-test-keys');

function cachedKeyPair(dir: string, name: string): KeyPair {
  ensureKeyPair(KEY_CACHE, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of [`${name}-public.pem`, `${name}-private.pem`]) fs.copyFileSync(path.join(KEY_CACHE, file), path.join(dir, file));
  return ensureKeyPair(dir, name);
}

export function platformKeys(dir: string): KeyPair {
  return cachedKeyPair(path.join(dir, 'platform-keys'), 'platform');
}

/** Seeds DATA_DIR/bank/keys so the simulator finds its key pair instead of generating one. */
export function seedBankKeys(dataDir: string): void {
  cachedKeyPair(path.join(dataDir, 'bank', 'keys'), 'bank');
}

export function uniqueNo(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** A card number nobody used yet (so it starts with the demo balance). */
export function newCardNumber(): string {
  return `6222${String(Date.now()).slice(-8)}${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
}

/** A 16-digit payment card number passing the Luhn check, its digits before the check digit ending in `last3` when given. */
export function luhnCardNumber(last3 = String(randomInt(0, 1000)).padStart(3, '0')): string {
  const body = `622202${String(randomInt(0, 1e6)).padStart(6, '0')}${last3}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- the fake platform (Coffer's GET /gateway)

export interface ReceivedNotification {
  at: number;
  serviceName: string | null;
  platformNo: string | null;
  signatureValid: boolean;
  reqData: string;
  result: BankResultData;
  answer: { status: number; body: string };
}

/** What the fake platform answers; 'hang' never answers (the bank's time-out must cut it). */
export type Responder = (n: Omit<ReceivedNotification, 'answer'>) => { status: number; body: string } | 'hang';

export class FakePlatform {
  readonly received: ReceivedNotification[] = [];
  respond: Responder = () => ({ status: 200, body: 'OK' });
  private server: http.Server | undefined;
  url = '';
  bankPublicKey: KeyObject | undefined;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get notifyUrl(): string {
    return `${this.url}/gateway`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method !== 'GET' || url.pathname !== '/gateway') {
      res.writeHead(404).end();
      return;
    }
    const reqData = url.searchParams.get('reqData') ?? '';
    const signature = url.searchParams.get('signature') ?? undefined;
    const n = {
      at: Date.now(),
      serviceName: url.searchParams.get('serviceName'),
      platformNo: url.searchParams.get('platformNo'),
      signatureValid: this.bankPublicKey ? verifyText(reqData, signature, this.bankPublicKey) : false,
      reqData,
      result: JSON.parse(reqData) as BankResultData,
    };
    const answer = this.respond(n);
    if (answer === 'hang') {
      this.received.push({ ...n, answer: { status: 0, body: '(no answer)' } });
      return;
    }
    this.received.push({ ...n, answer });
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
  }

  for(requestNo: string): ReceivedNotification[] {
    return this.received.filter((n) => n.result.requestNo === requestNo);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

// ---- the simulator under test

export interface BankUnderTest {
  url: string;
  dir: string;
  platform: FakePlatform;
  keys: KeyPair;
  bankPublicKey: KeyObject;
  adminToken: string | undefined;
  close(): Promise<void>;
}

export function bankEnv(dir: string, keys: KeyPair, env: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: dir,
    BANK_PORT: '0',
    PLATFORM_NO: PLATFORM_NO,
    PLATFORM_PUBLIC_KEY_PATH: keys.publicKeyPath,
    LOG_LEVEL: 'silent',
    BANK_NOTIFY_POLL_MS: '10',
    BANK_NOTIFY_SCHEDULE_S: '0,1,2,4',
    BANK_NOTIFY_SCALE: '0.05',
    BANK_DEMO_CARD_BALANCE: '1000.00',
    BANK_PASSWORD_MAX_FAILURES: '3',
    ...env,
  };
}

/** Starts the simulator in this process on a temp DATA_DIR, with a fake platform to notify. */
export async function startInProcess(env: Record<string, string> = {}): Promise<BankUnderTest> {
  const dir = tempDir('inproc');
  const keys = platformKeys(dir);
  seedBankKeys(dir);
  const platform = new FakePlatform();
  await platform.start();
  const fullEnv = bankEnv(dir, keys, env);
  const running: RunningBankSimulator = await startBankSimulator(loadBankConfig(fullEnv));
  const bankPublicKey = loadPublicKey(running.publicKeyPath);
  platform.bankPublicKey = bankPublicKey;
  return {
    url: running.url,
    dir,
    platform,
    keys,
    bankPublicKey,
    adminToken: fullEnv.ADMIN_TOKEN,
    async close() {
      await running.close();
      await platform.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- the browser's side

export type GatewayForm = {
  serviceName: string;
  platformNo: string;
  reqData: string;
  signature: string;
};

export function signedRequest(bank: BankUnderTest, serviceName: ServiceName, data: Partial<PlatformRequestData> & { requestNo: string; userNo: string }): GatewayForm {
  const full: PlatformRequestData = {
    notifyUrl: bank.platform.notifyUrl,
    callbackUrl: 'http://wallet.example/return?from=bank',
    timestamp: new Date().toISOString(),
    ...data,
  };
  const reqData = JSON.stringify(full);
  return { serviceName, platformNo: PLATFORM_NO, reqData, signature: signText(reqData, bank.keys.privateKey) };
}

export interface PageAnswer {
  status: number;
  html: string;
  location: string | null;
  headers: Headers;
}

export async function postForm(url: string, fields: Record<string, string>): Promise<PageAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: response.status, html: await response.text(), location: response.headers.get('location'), headers: response.headers };
}

/** The browser's part: post the GatewayRequest to the bank, fill its one form, follow its redirect. */
export async function atTheBank(gateway: GatewayRequest, typed: Record<string, string>): Promise<URL> {
  const { serviceName, platformNo, reqData, signature } = gateway;
  const page = await postForm(gateway.depositoryUrl, { serviceName, platformNo, reqData, signature });
  assert.equal(page.status, 200, `the bank's page: ${page.html}`);
  const form = parseForm(page.html);
  const done = await postForm(new URL(form.action, gateway.depositoryUrl).toString(), { ...form.fields, ...typed });
  assert.equal(done.status, 303, `the bank redirects back: ${done.html}`);
  return new URL(done.location!);
}

export interface ParsedForm {
  formCount: number;
  action: string;
  method: string;
  /** Every input's name and value (hidden ones included). */
  fields: Record<string, string>;
  inputNames: string[];
}

function decodeEntities(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match ? decodeEntities(match[1]!) : undefined;
}

/** Reads the page's form the way automation would: by input names. */
export function parseForm(html: string): ParsedForm {
  // a quoted attribute value may contain '>' (HTML needs only '"' and '&' escaped there)
  const forms = html.match(/<form\b(?:[^>"]|"[^"]*")*>/g) ?? [];
  assert.equal(forms.length, 1, `expected one <form>, page was:\n${html}`);
  const inputs = html.match(/<input\b(?:[^>"]|"[^"]*")*>/g) ?? [];
  const fields: Record<string, string> = {};
  for (const input of inputs) {
    const name = attribute(input, 'name');
    if (name) fields[name] = attribute(input, 'value') ?? '';
  }
  return {
    formCount: forms.length,
    action: attribute(forms[0]!, 'action') ?? '',
    method: attribute(forms[0]!, 'method') ?? 'get',
    fields,
    inputNames: Object.keys(fields),
  };
}

/** Submits the page's form with what the user typed. */
export async function submit(bank: BankUnderTest, page: PageAnswer, typed: Record<string, string>): Promise<PageAnswer> {
  const form = parseForm(page.html);
  return postForm(new URL(form.action, bank.url).toString(), { ...form.fields, ...typed });
}

export const PASSWORD = 'secret-123';

export function registrationFields(cardNumber: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    realName: 'Zhang San',
    idNumber: '11010119900307123X',
    cardNumber,
    bankCode: 'ICBC',
    mobile: '13800138000',
    password: PASSWORD,
    passwordConfirm: PASSWORD,
    ...extra,
  };
}

/** Opens an account through the hosted pages; returns the redirect and the card used. */
export async function openAccount(bank: BankUnderTest, userNo: string, cardNumber = newCardNumber()): Promise<{ redirect: PageAnswer; requestNo: string; cardNumber: string }> {
  const requestNo = uniqueNo('reg');
  const page = await postForm(`${bank.url}/gateway`, { ...signedRequest(bank, 'PERSONAL_REGISTER', { requestNo, userNo, mobile: '13800138000' }) });
  assert.equal(page.status, 200, page.html);
  const redirect = await submit(bank, page, registrationFields(cardNumber));
  assert.equal(redirect.status, 303, redirect.html);
  return { redirect, requestNo, cardNumber };
}

/** Starts a recharge or withdrawal and returns the confirmation page. */
export async function startPayment(
  bank: BankUnderTest,
  serviceName: 'RECHARGE' | 'WITHDRAW',
  userNo: string,
  amount: string,
  extra: Partial<PlatformRequestData> = {},
): Promise<{ page: PageAnswer; requestNo: string }> {
  const requestNo = uniqueNo(serviceName === 'RECHARGE' ? 'rch' : 'wdr');
  const page = await postForm(`${bank.url}/gateway`, { ...signedRequest(bank, serviceName, { requestNo, userNo, amount, currency: 'CNY', ...extra }) });
  return { page, requestNo };
}

export async function sandbox<T = unknown>(bank: BankUnderTest, method: 'GET' | 'POST', route: string, body?: unknown, token = bank.adminToken): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${bank.url}${route}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface NotificationView {
  id: string;
  requestNo: string;
  serviceName: string;
  status: string;
  state: string;
  attempts: { at: string; httpStatus: number | null; body: string }[];
}

export async function notificationsOf(bank: BankUnderTest, requestNo: string): Promise<NotificationView[]> {
  const answer = await sandbox<NotificationView[]>(bank, 'GET', `/sandbox/notifications?requestNo=${encodeURIComponent(requestNo)}`);
  assert.equal(answer.status, 200);
  return answer.body;
}

export async function cardBalance(bank: BankUnderTest, cardNumber: string): Promise<string> {
  const answer = await sandbox<{ balance: string }>(bank, 'GET', `/sandbox/cards/${cardNumber}`);
  assert.equal(answer.status, 200);
  return answer.body.balance;
}

export async function virtualBalance(bank: BankUnderTest, userNo: string): Promise<string> {
  const answer = await sandbox<{ balance: string }>(bank, 'GET', `/sandbox/accounts/${encodeURIComponent(userNo)}`);
  assert.equal(answer.status, 200);
  return answer.body.balance;
}

/** Waits until the platform got a verified notification for the request that it answered OK. */
export async function deliveredNotification(bank: BankUnderTest, requestNo: string): Promise<ReceivedNotification> {
  return waitFor(`an acknowledged notification for ${requestNo}`, () =>
    bank.platform.for(requestNo).find((n) => n.answer.status === 200 && n.answer.body === 'OK'),
  );
}

export async function queryTransaction(bank: BankUnderTest, requestNo: string, signWith: KeyObject = bank.keys.privateKey) {
  const reqData = JSON.stringify({ requestNo, timestamp: new Date().toISOString() });
  const response = await fetch(`${bank.url}/service`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serviceName: 'QUERY_TRANSACTION', platformNo: PLATFORM_NO, reqData, signature: signText(reqData, signWith) }),
  });
  const body = (await response.json()) as { reqData: string; signature: string };
  return { status: response.status, body, signatureValid: response.ok && verifyText(body.reqData, body.signature, bank.bankPublicKey), data: response.ok ? (JSON.parse(body.reqData) as Record<string, unknown>) : undefined };
}

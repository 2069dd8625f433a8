/**
 * Shared by the depository suites: a real Coffer server (startCoffer, PORT=0)
 * over either store, a test BANK key pair so a test can play the bank and send
 * real signed notifications to GET /gateway, and a small HTTP server playing
 * the bank's server-to-server endpoint (POST /service, QUERY_TRANSACTION).
 */
import assert from 'node:assert/strict';
import { type KeyObject, randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { startCoffer, type RunningCoffer } from '../../src/main.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/log.ts';
import {
  type BankResultData,
  ensureKeyPair,
  type GatewayRequest,
  type KeyPair,
  loadPublicKey,
  type PlatformRequestData,
  signText,
  verifyText,
} from '../../src/protocol/depository.ts';
import { createBooks, type TestBooks } from '../ledger-http/support.ts';

export { assertProblem, createBooks, sleep, type ApiResponse, type Problem, type TestBooks } from '../ledger-http/support.ts';

export const ADMIN_TOKEN = 'depository-admin-token-3c9e71';
export const PLATFORM_NO = 'coffer-test-platform';
export const PUBLIC_URL = 'https://coffer.test.example';
export const BANK_PUBLIC_URL = 'https://bank.test.example';
export const PASSWORD = 'Coffer-pass-1';

/** Key pairs for one suite: the platform's (Coffer generates it on start), the bank's, and an impostor's. */
export interface TestKeys {
  dir: string;
  platformKeysDir: string;
  bank: KeyPair;
  impostor: KeyPair;
  dispose(): void;
}

export function createKeys(): TestKeys {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-depository-keys-'));
  return {
    dir,
    platformKeysDir: path.join(dir, 'platform'),
    bank: ensureKeyPair(path.join(dir, 'bank'), 'bank'),
    impostor: ensureKeyPair(path.join(dir, 'impostor'), 'bank'),
    dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** What the fake bank answers a QUERY_TRANSACTION about one request. */
export type QueryAnswer = { kind: 'result'; result: BankResultData } | { kind: 'pending' } | { kind: 'not-found' } | { kind: 'down' };

/**
 * The bank's POST /service, played by the test: verifies the platform's
 * signature, counts the queries per request number, and answers what the
 * test set (PENDING by default), signed with the bank key.
 */
export class FakeBankService {
  readonly queries = new Map<string, number>();
  /** UNBIND_CARD calls received (platform-signed), in order. */
  readonly unbinds: { requestNo: string; userNo: string; cardNumberMasked: string }[] = [];
  /** While true, UNBIND_CARD calls get a 503 (counted in unbindsRefused). */
  unbindDown = false;
  unbindsRefused = 0;
  readonly answers = new Map<string, QueryAnswer>();
  badSignatures = 0;
  private server!: http.Server;
  url = '';

  constructor(
    private readonly bank: KeyPair,
    private readonly platformPublicKeyPath: () => string,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => this.answer(req, res, body));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    if (req.method !== 'POST' || req.url !== '/service') {
      res.writeHead(404).end();
      return;
    }
    const message = JSON.parse(body) as { serviceName: string; platformNo: string; reqData: string; signature: string };
    if ((message.serviceName !== 'QUERY_TRANSACTION' && message.serviceName !== 'UNBIND_CARD') || message.platformNo !== PLATFORM_NO) {
      res.writeHead(400).end();
      return;
    }
    if (!verifyText(message.reqData, message.signature, loadPublicKey(this.platformPublicKeyPath()))) {
      this.badSignatures += 1;
      res.writeHead(401).end();
      return;
    }
    if (message.serviceName === 'UNBIND_CARD' && this.unbindDown) {
      this.unbindsRefused += 1;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('bank is down');
      return;
    }
    if (message.serviceName === 'UNBIND_CARD') {
      const unbind = JSON.parse(message.reqData) as { requestNo: string; userNo: string; cardNumberMasked: string };
      this.unbinds.push(unbind);
      const reqData = JSON.stringify({ ...unbind, status: 'UNBOUND', timestamp: new Date().toISOString() });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ reqData, signature: signText(reqData, this.bank.privateKey) }));
      return;
    }
    const { requestNo } = JSON.parse(message.reqData) as { requestNo: string };
    this.queries.set(requestNo, (this.queries.get(requestNo) ?? 0) + 1);
    const answer = this.answers.get(requestNo) ?? { kind: 'pending' };
    if (answer.kind === 'down') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('bank is down');
      return;
    }
    const reqData = JSON.stringify(
      answer.kind === 'result' ? answer.result : { requestNo, status: answer.kind === 'not-found' ? 'NOT_FOUND' : 'PENDING', timestamp: new Date().toISOString() },
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ reqData, signature: signText(reqData, this.bank.privateKey) }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function startServer(books: TestBooks, keys: TestKeys, bankUrl: string, env: Record<string, string> = {}): Promise<RunningCoffer> {
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBLIC_URL,
    BANK_PUBLIC_URL,
    PLATFORM_NO,
    KEYS_DIR: keys.platformKeysDir,
    BANK_PUBLIC_KEY_PATH: keys.bank.publicKeyPath,
    BANK_URL: bankUrl,
    OUTBOX_POLL_INTERVAL_MS: '20',
    DEPOSITORY_QUERY_AFTER_S: '1',
    DEPOSITORY_QUERY_INTERVAL_MS: '100',
    DEPOSITORY_CURRENCY: 'CNY',
    WITHDRAW_FEE: '2.00',
    ...books.env,
    ...env,
  });
  return startCoffer(config, createLogger(config));
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Wallet {
  accountNo: string;
  currency: string;
  balance: string;
  available: string;
  pending: string;
  status: string;
}

export interface TestUser {
  userId: string;
  mobile: string;
  token: string;
}

const usedMobiles = new Set<string>();
function newMobile(): string {
  for (;;) {
    const mobile = `137${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
    if (!usedMobiles.has(mobile)) {
      usedMobiles.add(mobile);
      return mobile;
    }
  }
}

/** Talks to Coffer as the browser, the bank and an operator would. */
export class Api {
  constructor(
    readonly base: string,
    private readonly bank: KeyPair,
  ) {}

  async request<T = any>(
    method: string,
    urlPath: string,
    options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.base}${urlPath}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    let body: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: response.status, headers: response.headers, body: body as T, text };
  }

  async newUser(): Promise<TestUser> {
    const mobile = newMobile();
    const registered = await this.request<{ userId: string }>('POST', '/auth/register', { body: { mobile, password: PASSWORD } });
    assert.equal(registered.status, 201, registered.text);
    const login = await this.request<{ token: string }>('POST', '/auth/login', { body: { mobile, password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    return { userId: registered.body.userId, mobile, token: login.body.token };
  }

  my<T = any>(user: TestUser, method: string, urlPath: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>(method, urlPath, { token: user.token, ...(body !== undefined ? { body } : {}) });
  }

  admin<T = any>(method: string, urlPath: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>(method, urlPath, { token: ADMIN_TOKEN, ...(body !== undefined ? { body } : {}) });
  }

  /** POST under an Idempotency-Key. */
  keyed<T = any>(user: TestUser, urlPath: string, body: unknown, key: string): Promise<Reply<T>> {
    return this.request<T>('POST', urlPath, { token: user.token, body, headers: { 'idempotency-key': key } });
  }

  /** POST that must answer 201 with a GatewayRequest. */
  async gateway(user: TestUser, urlPath: string, body: unknown): Promise<GatewayRequest> {
    const reply = await this.my<GatewayRequest>(user, 'POST', urlPath, body);
    assert.equal(reply.status, 201, `POST ${urlPath} answered ${reply.status}: ${reply.text}`);
    return reply.body;
  }

  async wallets(user: TestUser): Promise<Wallet[]> {
    const reply = await this.my<Wallet[]>(user, 'GET', '/my/wallets');
    assert.equal(reply.status, 200, reply.text);
    return reply.body;
  }

  async wallet(user: TestUser): Promise<Wallet | undefined> {
    return (await this.wallets(user)).find((w) => w.currency === 'CNY');
  }

  async records(user: TestUser, kind: 'recharge' | 'withdraw', query = ''): Promise<{ data: any[]; hasMore: boolean }> {
    const reply = await this.my(user, 'GET', `/my/${kind}-records${query}`);
    assert.equal(reply.status, 200, reply.text);
    return reply.body;
  }

  async recordOf(user: TestUser, kind: 'recharge' | 'withdraw', requestNo: string): Promise<any> {
    return (await this.records(user, kind, '?limit=100')).data.find((r) => r.requestNo === requestNo);
  }

  /** GET /gateway as the bank sends it: each value URL-encoded in the query string. */
  notify(params: Record<string, string | undefined>): Promise<Reply<string>> {
    const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
    return this.request<string>('GET', `/gateway?${query}`);
  }

  /** The bank's signed notification of `result` for the request behind `gateway`. */
  notifyResult(gateway: GatewayRequest, result: Partial<BankResultData> & { status: 'SUCCESS' | 'FAIL' }, key = this.bank.privateKey) {
    return this.request<string>('GET', bankNotificationPath(gateway, result, key));
  }

  async invariantsHold(): Promise<void> {
    const reply = await this.admin<{ ok: boolean; checks: { name: string; ok: boolean }[] }>('GET', '/admin/ledger/invariants');
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body.checks.filter((c) => !c.ok), [], 'every ledger invariant holds');
    assert.equal(reply.body.ok, true);
  }
}

/** The request under `key` as a process killed after its commit leaves it: claimed, the lease run out, no answer stored. */
export async function killedAfterCommit(db: Kysely<any>, user: TestUser, key: string): Promise<void> {
  const { numAffectedRows } = await sql`
    update idempotency_keys set state = 'IN_FLIGHT', claim_token = 'killed', locked_until = now() - interval '1 second',
           status_code = null, content_type = null, response_body = null, completed_at = null
    where scope = ${`user:${user.userId}`} and key = ${key}`.execute(db);
  assert.equal(numAffectedRows, 1n, `the request under ${key} was stored`);
}

export function requestDataOf(gateway: GatewayRequest): PlatformRequestData {
  return JSON.parse(gateway.reqData) as PlatformRequestData;
}

/** The bank's result for a request, as its reqData: the request's own fields plus the outcome. */
export function bankResult(gateway: GatewayRequest, result: Partial<BankResultData> & { status: 'SUCCESS' | 'FAIL' }): BankResultData {
  const request = requestDataOf(gateway);
  return {
    requestNo: request.requestNo,
    serviceName: gateway.serviceName,
    userNo: request.userNo,
    ...(request.amount !== undefined ? { amount: request.amount, currency: request.currency! } : {}),
    timestamp: new Date().toISOString(),
    ...(result.status === 'FAIL' ? { errorCode: 'CARD_DECLINED', errorMessage: 'The card was declined' } : {}),
    ...result,
  };
}

/** The path of the bank's signed notification of `result` (GET /gateway?serviceName&platformNo&reqData&signature). */
export function bankNotificationPath(gateway: GatewayRequest, result: Partial<BankResultData> & { status: 'SUCCESS' | 'FAIL' }, key: KeyObject): string {
  const reqData = JSON.stringify(bankResult(gateway, result));
  return gatewayNotificationPath(gateway.serviceName, reqData, signText(reqData, key));
}

/** GET /gateway as the bank sends it: each value URL-encoded in the query string. */
export function gatewayNotificationPath(serviceName: string, reqData: string, signature: string): string {
  return `/gateway?${new URLSearchParams({ serviceName, platformNo: PLATFORM_NO, reqData, signature })}`;
}

/** Polls until `check` passes (it throws while not yet), or fails with its last error. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
// Note: every assert.ok here carries a message. Without one, Node 20 rebuilds the
// message from the call site's source, which under the tsx loader can spin forever.

/** A user whose depository account is open (the bank confirmed it) and who has a CNY wallet. */
export async function openUserAccount(api: Api, callbackUrl: string, card = '6222021234567890123'): Promise<TestUser> {
  const user = await api.newUser();
  const gateway = await api.gateway(user, '/my/depository-accounts', { callbackUrl });
  const ok = await api.notifyResult(gateway, { status: 'SUCCESS', cardNumberMasked: card, bankCode: 'ICBC' });
  assert.equal(ok.status, 200, ok.text);
  await eventually(async () => assert.ok(await api.wallet(user), 'the wallet is opened by the consumer'));
  // The account is marked OPENED, with its card, just after the wallet is made.
  await eventually(async () => assert.equal((await api.my(user, 'GET', '/my/cards')).body.length, 1, 'the card is bound'));
  return user;
}

/** Recharges through the whole flow (the bank's SUCCESS notification) and waits for the credit. */
export async function rechargeThroughBank(api: Api, user: TestUser, amount: string, callbackUrl: string): Promise<GatewayRequest> {
  const before = (await api.wallet(user))!.balance;
  const gateway = await api.gateway(user, '/my/recharge-records', { amount, callbackUrl });
  assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
  await eventually(async () => assert.notEqual((await api.wallet(user))!.balance, before, 'the recharge is credited'));
  return gateway;
}

/** A Coffer server over a fresh store of `kind`, with the test bank's query endpoint: what each depository suite starts. */
export interface DepositoryServer {
  books: TestBooks;
  keys: TestKeys;
  bankService: FakeBankService;
  coffer: RunningCoffer;
  api: Api;
}

export async function startDepositoryServer(kind: TestBooks['kind'], env: Record<string, string> = {}): Promise<DepositoryServer> {
  const books = await createBooks(kind);
  const keys = createKeys();
  const bankService = new FakeBankService(keys.bank, () => path.join(keys.platformKeysDir, 'platform-public.pem'));
  await bankService.start();
  const coffer = await startServer(books, keys, bankService.url, env);
  return { books, keys, bankService, coffer, api: new Api(coffer.url, keys.bank) };
}

export async function stopDepositoryServer(server: Partial<DepositoryServer>): Promise<void> {
  await server.coffer?.close();
  await server.bankService?.stop();
  await server.books?.dispose();
  server.keys?.dispose();
}

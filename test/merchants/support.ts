/**
 * Shared by the merchants suites: a real Coffer server (PORT=0) on either
 * store, an admin client, and a merchant client that signs its requests the
 * way a merchant's server would (SPEC 5), with knobs to sign them wrongly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startCoffer, type RunningCoffer, type StartOptions } from '../../src/main.ts';
import { signMerchantRequest } from '../../src/modules/merchants/index.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/log.ts';
import { type ApiResponse, type TestBooks } from '../ledger-http/support.ts';

export { assertProblem, createBooks, sleep, unique, type ApiResponse, type Problem, type TestBooks } from '../ledger-http/support.ts';

export const ADMIN_TOKEN = 'merchants-admin-token-7d21b4';
/** The depository agent makes an RSA key pair in KEYS_DIR at start: one folder for the whole run keeps that to once. */
const KEYS_DIR = path.join(os.tmpdir(), 'coffer-merchants-test-keys');

export function startServer(books: TestBooks, env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningCoffer> {
  const config = loadConfig({
    PORT: '0',
    ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    KEYS_DIR,
    MERCHANT_SECRETS_KEY: randomBytes(32).toString('base64'),
    ...books.env,
    ...env,
  });
  // The cheapest scrypt cost accepted: operator logins in tests need not take 100 ms each.
  return startCoffer(config, createLogger(config), { operators: { scrypt: { ln: 10, r: 8, p: 1 } }, ...options });
}

export interface MerchantView {
  merchantId: string;
  name: string;
  status: string;
  products: string[];
  fees: { product: string; currency: string; fixed: string; rateBp: number; min: string | null; max: string | null }[];
  createdAt: string;
  updatedAt: string;
}

export interface BalanceView {
  accountId: string;
  accountNo: string;
  currency: string;
  balance: string;
  available: string;
  pendingDebits: string;
  status: string;
}

export interface AdjustmentView {
  adjustmentId: string;
  merchantId: string;
  amount: string;
  currency: string;
  reason: string;
  status: string;
  accountId: string;
  transferId: string;
  createdBy: { kind: string; id: string };
  createdAt: string;
  postedAt: string | null;
}

export interface AuditEntryView {
  id: string;
  at: string;
  principal: { kind: string; id: string };
  action: string;
  subject: { kind: string; id: string };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  requestId: string | null;
}

export interface CreatedKey {
  keyId: string;
  secret: string;
  role: string;
  merchantId: string;
}

async function asResponse<T>(response: Response): Promise<ApiResponse<T>> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

/** Talks to /admin/... with a bearer token (ADMIN_TOKEN or an operator's session). */
export class Admin {
  constructor(
    readonly base: string,
    readonly token: string | null = ADMIN_TOKEN,
  ) {}

  as(token: string | null): Admin {
    return new Admin(this.base, token);
  }

  async request<T = unknown>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const all: Record<string, string> = { ...headers };
    if (this.token !== null) all.authorization = `Bearer ${this.token}`;
    if (body !== undefined) all['content-type'] = 'application/json';
    const response = await fetch(`${this.base}${urlPath}`, { method, headers: all, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return asResponse<T>(response);
  }

  async ok<T>(method: string, urlPath: string, body?: unknown, status = method === 'POST' ? 201 : 200): Promise<T> {
    const response = await this.request<T>(method, urlPath, body);
    assert.equal(response.status, status, `${method} ${urlPath} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  createMerchant(body: Record<string, unknown> = {}) {
    return this.ok<MerchantView>('POST', '/admin/merchants', { name: 'Acme Payroll Ltd', products: ['PAYOUT_SINGLE', 'PAYOUT_BATCH'], ...body });
  }

  activate(merchantId: string) {
    return this.ok<MerchantView>('POST', `/admin/merchants/${merchantId}/activate`, undefined, 200);
  }

  createKey(merchantId: string, role?: 'maker' | 'checker') {
    return this.ok<CreatedKey>('POST', `/admin/merchants/${merchantId}/api-keys`, role ? { role } : {});
  }

  audit(query = '') {
    return this.ok<{ data: AuditEntryView[]; hasMore: boolean }>('GET', `/admin/audit-log${query}`);
  }

  /** An ACTIVE merchant with one maker key. */
  async activeMerchant(body: Record<string, unknown> = {}): Promise<{ merchant: MerchantView; key: CreatedKey; client: MerchantClient }> {
    const merchant = await this.createMerchant(body);
    await this.activate(merchant.merchantId);
    const key = await this.createKey(merchant.merchantId);
    return { merchant, key, client: new MerchantClient(this.base, key.keyId, key.secret) };
  }
}

export interface SignedOptions {
  body?: string;
  contentType?: string;
  /** Unix seconds to sign and send; default now. */
  timestamp?: number;
  /** Sign this path instead of the one requested. */
  signPath?: string;
  /** Sign this body instead of the one sent. */
  signBody?: string;
  /** Sign with this secret instead of the key's. */
  secret?: string;
  headers?: Record<string, string>;
  /** Send exactly these auth headers (a replay). */
  replayHeaders?: Record<string, string>;
}

/** A merchant's server: every request signed with its key, as SPEC 5 says. */
export class MerchantClient {
  /** The auth headers of the last request, to replay it. */
  lastAuth: Record<string, string> = {};

  constructor(
    readonly base: string,
    readonly keyId: string,
    readonly secret: string,
  ) {}

  /** The last timestamp used for each (method, path, body): see `freshTimestamp`. */
  private readonly lastTimestamps = new Map<string, number>();

  /**
   * What a careful merchant client does: the same bytes signed in the same
   * second would be a replay (SPEC 5's (key, timestamp, signature) guard), so
   * an identical request repeated within a second is signed one second later.
   */
  private freshTimestamp(method: string, path: string, body: string | undefined): number {
    const what = `${method} ${path} ${body ?? ''}`;
    const last = this.lastTimestamps.get(what);
    const timestamp = last !== undefined && last >= nowS() ? last + 1 : nowS();
    this.lastTimestamps.set(what, timestamp);
    return timestamp;
  }

  async request<T = unknown>(method: string, urlPath: string, options: SignedOptions = {}): Promise<ApiResponse<T>> {
    const signPath = options.signPath ?? urlPath;
    const signBody = options.signBody ?? options.body;
    const auth =
      options.replayHeaders ??
      signMerchantRequest({
        keyId: this.keyId,
        secret: options.secret ?? this.secret,
        method,
        path: signPath,
        ...(signBody !== undefined ? { body: signBody } : {}),
        timestamp: options.timestamp ?? this.freshTimestamp(method, signPath, signBody),
      });
    this.lastAuth = auth;
    const headers: Record<string, string> = { ...auth, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${this.base}${urlPath}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
    return asResponse<T>(response);
  }
}

export const nowS = () => Math.floor(Date.now() / 1000);

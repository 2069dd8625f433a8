/**
 * Shared by the ledger HTTP suites: a real Coffer server on either store, and a
 * small admin client that talks to it with fetch, as automation would.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCoffer, type RunningCoffer } from '../../src/main.ts';
import { loadConfig } from '../../src/platform/config.ts';
import type { StoreKind } from '../../src/platform/db/store.ts';
import { createServerDatabase } from '../support/stores.ts';

export const ADMIN_TOKEN = 'ledger-http-admin-token-5f1c2a';

/** Where a suite's books live: a temp DATA_DIR (embedded) or a fresh database on the server. */
export interface TestBooks {
  kind: StoreKind;
  env: { DATA_DIR: string } | { DATABASE_URL: string };
  dispose(): Promise<void>;
}

export async function createBooks(kind: StoreKind): Promise<TestBooks> {
  if (kind === 'pglite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-ledger-http-'));
    return { kind, env: { DATA_DIR: dataDir }, dispose: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const database = await createServerDatabase();
  return { kind, env: { DATABASE_URL: database.url }, dispose: () => database.drop() };
}

/** A real server (PORT=0) over the books, with the admin token set and logs off. */
export function startServer(books: TestBooks, env: Record<string, string> = {}): Promise<RunningCoffer> {
  return startCoffer(
    loadConfig({ PORT: '0', ADMIN_TOKEN, LOG_LEVEL: 'silent', LEDGER_PENDING_EXPIRY_INTERVAL_MS: '200', ...books.env, ...env }),
  );
}

let counter = 0;
/** A name no other test of the run uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}`;
}

export interface AccountView {
  id: string;
  accountNo: string;
  ownerKind: string;
  ownerId: string;
  type: string;
  currency: string;
  status: string;
  noOverdraft: boolean;
  balance: string;
  available: string;
  pendingDebits: string;
  pendingCredits: string;
  createdAt: string;
  updatedAt: string;
}

export interface TransferView {
  id: string;
  kind: string;
  state: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: string;
  currency: string;
  code: string;
  reference: string | null;
  metadata: Record<string, unknown> | null;
  pendingId: string | null;
  timeoutAt: string | null;
  postedAmount: string | null;
  linkedId: string | null;
  createdAt: string;
}

export interface EntryView {
  seq: string;
  transferId: string;
  direction: 'DEBIT' | 'CREDIT';
  amount: string;
  balanceBefore: string;
  balanceAfter: string;
  code: string;
  currency: string;
  createdAt: string;
}

export interface EntryPage {
  data: EntryView[];
  hasMore: boolean;
}

export interface InvariantReport {
  ok: boolean;
  checkedAt: string;
  checks: { name: string; description: string; ok: boolean; violations: Record<string, string | null>[] }[];
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  instance: string;
  errors?: { path: string; message: string }[];
  [extra: string]: unknown;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** Every invariant the ledger promises to check (SPEC section 2). */
export const INVARIANT_NAMES = [
  'references_exist',
  'entries_balance_per_currency',
  'accounts_balance_per_currency',
  'account_totals_match_entries',
  'entry_chain',
  'no_overdraft_never_negative',
  'pending_totals_match_open_holds',
  'transfers_have_their_entries',
];

export class AdminClient {
  constructor(
    readonly base: string,
    /** null sends no Authorization header at all. */
    readonly token: string | null = ADMIN_TOKEN,
  ) {}

  withToken(token: string | null): AdminClient {
    return new AdminClient(this.base, token);
  }

  async request<T = unknown>(method: string, urlPath: string, body?: unknown): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (this.token !== null) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.base}${urlPath}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  get<T = unknown>(urlPath: string) {
    return this.request<T>('GET', urlPath);
  }

  post<T = unknown>(urlPath: string, body: unknown) {
    return this.request<T>('POST', urlPath, body);
  }

  /** POST that must succeed with `status`; returns the body. */
  async ok<T>(urlPath: string, body: unknown, status = 201): Promise<T> {
    const response = await this.post<T>(urlPath, body);
    assert.equal(response.status, status, `POST ${urlPath} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  async read<T>(urlPath: string): Promise<T> {
    const response = await this.get<T>(urlPath);
    assert.equal(response.status, 200, `GET ${urlPath} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  openAccount(ownerKind: 'USER' | 'MERCHANT' | 'PLATFORM', type: string, currency: string, ownerId = unique(ownerKind.toLowerCase())) {
    return this.ok<AccountView>('/admin/ledger/accounts', { ownerKind, ownerId, type, currency });
  }

  account(id: string) {
    return this.read<AccountView>(`/admin/ledger/accounts/${encodeURIComponent(id)}`);
  }

  transfer(body: Record<string, unknown>) {
    return this.post<TransferView & Problem>('/admin/ledger/transfers', body);
  }

  getTransfer(id: string) {
    return this.get<TransferView & Problem>(`/admin/ledger/transfers/${encodeURIComponent(id)}`);
  }

  entries(accountId: string, query: Record<string, string | number> = {}) {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return this.read<EntryPage>(`/admin/ledger/accounts/${encodeURIComponent(accountId)}/entries${qs ? `?${qs}` : ''}`);
  }

  /** Every entry of an account, newest first, read page by page. */
  async allEntries(accountId: string): Promise<EntryView[]> {
    const all: EntryView[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.entries(accountId, { limit: 200, ...(startingAfter ? { startingAfter } : {}) });
      all.push(...page.data);
      if (!page.hasMore) return all;
      startingAfter = page.data.at(-1)!.seq;
    }
  }

  invariants() {
    return this.read<InvariantReport>('/admin/ledger/invariants');
  }

  /** Moves `amount` from `from` to `to` and insists it worked. */
  move(from: string, to: string, amount: string, currency = 'CNY', extra: Record<string, unknown> = {}) {
    return this.ok<TransferView>('/admin/ledger/transfers', {
      id: unique('t'),
      debitAccountId: from,
      creditAccountId: to,
      amount,
      currency,
      code: 'transfer',
      ...extra,
    });
  }
}

/** A problem+json answer with the status and code, whose requestId is the x-request-id header. */
export function assertProblem(response: ApiResponse<unknown>, status: number, code: string): Problem {
  const problem = response.body as Problem;
  assert.equal(response.status, status, `expected ${status} ${code}, got ${response.status}: ${JSON.stringify(problem)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(problem.code, code);
  assert.equal(problem.status, status);
  assert.equal(typeof problem.detail, 'string');
  assert.ok(problem.detail.length > 0, 'a problem has a human detail');
  const requestId = response.headers.get('x-request-id');
  assert.ok(requestId, 'every answer carries x-request-id');
  assert.equal(problem.requestId, requestId);
  return problem;
}

export async function assertBooksBalance(client: AdminClient): Promise<void> {
  const report = await client.invariants();
  const broken = report.checks.filter((check) => !check.ok);
  assert.deepEqual(broken, [], 'every ledger invariant holds');
  assert.equal(report.ok, true);
  assert.deepEqual(report.checks.map((check) => check.name).sort(), [...INVARIANT_NAMES].sort());
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

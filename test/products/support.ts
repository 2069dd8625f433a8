/**
 * Shared by the products suites: a real Coffer server on either store (the
 * depository suites' rig: the test plays the bank with signed notifications,
 * so users open accounts and recharge their wallets through the real flow), and
 * helpers that create, shelve and buy products over HTTP as the admin console
 * and the wallet UI do.
 */
import assert from 'node:assert/strict';
import type { StoreKind } from '../../src/platform/db/store.ts';
import {
  type Api,
  type DepositoryServer,
  eventually,
  openUserAccount,
  type Reply,
  rechargeThroughBank,
  startDepositoryServer,
  stopDepositoryServer,
  type TestUser,
} from '../depository/support.ts';

export { assertProblem, eventually, type Api, type Reply, type TestUser } from '../depository/support.ts';

export const CALLBACK = 'https://shop.test.example/back';
export const DAY_MS = 86_400_000;

export interface ProductView {
  id: string;
  code: string;
  name: string;
  currency: string;
  annualRate: string;
  termDays: number;
  minAmount: string;
  stepAmount: string;
  totalAmount: string;
  raisedAmount: string;
  reservedAmount: string;
  remainingAmount: string;
  progress: string;
  dayCount: string;
  acceptorBank: string | null;
  interestStartRule: string;
  saleStart: string | null;
  saleEnd: string | null;
  onShelf: boolean;
  status: string;
  version: number;
}

export interface HoldingView {
  id: string;
  productId: string;
  productCode: string;
  amount: string;
  currency: string;
  interest: string;
  maturityAmount: string;
  valueDate: string;
  maturityDate: string;
  earnedToDate: string;
  status: string;
  payWith: string;
  payOrderNo?: string;
  expiresAt?: string;
  errorCode?: string;
  paidAt?: string;
  settledAt?: string;
}

/** A Coffer whose jobs run often, with sessions that outlive the test clock's jumps. */
export function startProductsServer(kind: StoreKind, env: Record<string, string> = {}): Promise<DepositoryServer> {
  return startDepositoryServer(kind, {
    PRODUCT_JOB_INTERVAL_MS: '100',
    CLOCK_REFRESH_MS: '100',
    USER_SESSION_TTL_S: String(366 * 86_400),
    ...env,
  });
}

export { stopDepositoryServer as stopProductsServer };

let codes = 0;
export function productCode(): string {
  codes += 1;
  return `P${Date.now().toString(36).toUpperCase()}${codes}`;
}

export const baseProduct = {
  name: 'Xiao Jin Piao 90 days',
  currency: 'CNY',
  annualRate: '3.65',
  termDays: 90,
  minAmount: '100.00',
  stepAmount: '100.00',
  totalAmount: '100000.00',
  dayCount: 'ACT/365',
  acceptorBank: 'ICBC Shanghai',
};

/** Creates a product (and shelves it unless told not to); answers its view. */
export async function createProduct(api: Api, fields: Record<string, unknown> = {}, options: { shelve?: boolean } = {}): Promise<ProductView> {
  const created = await api.admin<{ id: string; code: string; status: string }>('POST', '/admin/products', { code: productCode(), ...baseProduct, ...fields });
  assert.equal(created.status, 201, created.text);
  if (options.shelve !== false) {
    const shelved = await api.admin('POST', `/admin/products/${created.body.id}/shelf`, { onShelf: true });
    assert.equal(shelved.status, 200, shelved.text);
  }
  return adminProduct(api, created.body.id);
}

export async function adminProduct(api: Api, id: string): Promise<ProductView> {
  const reply = await api.admin<ProductView>('GET', `/admin/products/${id}`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

/** A user with an open depository account and `funds` in the CNY wallet (recharged through the bank flow). */
export async function fundedUser(api: Api, funds = '100000.00'): Promise<TestUser> {
  const user = await openUserAccount(api, CALLBACK);
  await rechargeThroughBank(api, user, funds, CALLBACK);
  return user;
}

export function subscribe(api: Api, user: TestUser, productId: string, amount: string, payWith = 'WALLET'): Promise<Reply<HoldingView>> {
  return api.my<HoldingView>(user, 'POST', '/my/subscriptions', { productId, amount, payWith });
}

export async function holding(api: Api, user: TestUser, id: string): Promise<HoldingView> {
  const reply = await api.my<HoldingView>(user, 'GET', `/my/subscriptions/${id}`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

export async function walletBalance(api: Api, user: TestUser): Promise<string> {
  return (await api.wallet(user))!.balance;
}

export async function advanceDays(api: Api, days: number): Promise<string> {
  const reply = await api.admin<{ now: string }>('POST', '/sandbox/clock/advance', { days });
  assert.equal(reply.status, 200, reply.text);
  return reply.body.now;
}

export async function businessNow(api: Api): Promise<Date> {
  const reply = await api.request<{ now: string }>('GET', '/sandbox/clock');
  assert.equal(reply.status, 200, reply.text);
  return new Date(reply.body.now);
}

/** The UTC calendar day `days` after the business clock's today. */
export async function businessDay(api: Api, days = 0): Promise<string> {
  return new Date((await businessNow(api)).getTime() + days * DAY_MS).toISOString().slice(0, 10);
}

export async function waitForHolding(api: Api, user: TestUser, id: string, status: string, timeoutMs = 15_000): Promise<HoldingView> {
  return eventually(async () => {
    const h = await holding(api, user, id);
    assert.equal(h.status, status, `holding ${id} is ${h.status}, waiting for ${status}`);
    return h;
  }, timeoutMs);
}

/** Adds decimal strings with 2 decimals exactly (test arithmetic never uses floats either). */
export function addCny(...amounts: string[]): string {
  const minor = amounts.reduce((sum, a) => sum + BigInt(a.replace('.', '')), 0n);
  const sign = minor < 0n ? '-' : '';
  const digits = (minor < 0n ? -minor : minor).toString().padStart(3, '0');
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

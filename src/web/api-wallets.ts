/**
 * The wallets port over the user center's contract API (SPEC 3, 4: /my/...),
 * called in-process with `app.inject` and the user's own session as the bearer
 * token. The UI thus goes through exactly the checks a mobile app would
 * (requireUser, frozen users, validation) and depends only on the published
 * contract, not on the wallets service's TypeScript signatures.
 */
import type { GatewayRequest } from '../protocol/depository.ts';
import type { CofferApp } from '../platform/http/server.ts';
import { callApi, rowsOf, str, type ApiMethod, type Json } from './api-client.ts';
import type { PageQuery, UiCard, UiEntry, UiPage, UiRecord, UiWallet, UiWithdrawStep, WebWallets } from './ports.ts';

function recordOf(row: Json): UiRecord {
  return {
    id: str(row.id) ?? '',
    requestNo: str(row.requestNo) ?? '',
    amount: str(row.amount) ?? '',
    currency: str(row.currency),
    status: str(row.status) ?? 'UNKNOWN',
    createdAt: str(row.createdAt),
    detail: str(row.errorMessage) ?? str(row.errorCode),
  };
}

/** 201 is the signed request itself; 202 names the record and the checks still to pass. */
function withdrawStep(body: unknown): UiWithdrawStep {
  const answer = body as { record?: Json; verification?: unknown };
  if (!answer.record) return { kind: 'gateway', gateway: body as GatewayRequest };
  return {
    kind: 'check',
    id: str(answer.record.id) ?? '',
    amount: str(answer.record.amount) ?? '',
    status: str(answer.record.status) ?? 'UNKNOWN',
    verification: Array.isArray(answer.verification) ? answer.verification.map(String) : [],
  };
}

function entryOf(row: Json): UiEntry {
  return {
    id: str(row.seq) ?? str(row.id) ?? '',
    code: str(row.code) ?? str(row.businessCode) ?? '',
    direction: str(row.direction) ?? '',
    amount: str(row.amount) ?? '',
    currency: str(row.currency),
    balanceAfter: str(row.balanceAfter),
    createdAt: str(row.createdAt),
  };
}

function cardOf(row: Json): UiCard {
  return { id: str(row.id) ?? '', cardNumberMasked: str(row.cardNumberMasked) ?? '', bankCode: str(row.bankCode) };
}

function pageOf<T>(body: unknown, map: (row: Json) => T): UiPage<T> {
  const page = body as { data?: unknown; hasMore?: unknown };
  return { data: Array.isArray(page.data) ? (page.data as Json[]).map(map) : [], hasMore: page.hasMore === true };
}

function pageQueryString(page: PageQuery): string {
  const query = new URLSearchParams({ limit: String(page.limit) });
  if (page.startingAfter) query.set('startingAfter', page.startingAfter);
  return query.toString();
}

export function apiWalletsPort(app: CofferApp): WebWallets {
  const call = (session: string, method: ApiMethod, url: string, body?: Json) => callApi(app, session, method, url, body);

  return {
    async wallets(session) {
      return (await call(session, 'GET', '/my/wallets')) as UiWallet[];
    },
    async openDepositoryAccount(session, callbackUrl) {
      return (await call(session, 'POST', '/my/depository-accounts', { callbackUrl })) as GatewayRequest;
    },
    async recharge(session, amount, callbackUrl) {
      return (await call(session, 'POST', '/my/recharge-records', { amount, callbackUrl })) as GatewayRequest;
    },
    async withdraw(session, amount, callbackUrl) {
      return withdrawStep(await call(session, 'POST', '/my/withdraw-records', { amount, callbackUrl }));
    },
    async verifyWithdraw(session, id, code) {
      return withdrawStep(await call(session, 'POST', `/my/withdraw-records/${encodeURIComponent(id)}/verification`, { code }));
    },
    async continueWithdraw(session, id) {
      return (await call(session, 'POST', `/my/withdraw-records/${encodeURIComponent(id)}/continue`)) as GatewayRequest;
    },
    async rechargeRecords(session, page) {
      return pageOf(await call(session, 'GET', `/my/recharge-records?${pageQueryString(page)}`), recordOf);
    },
    async withdrawRecords(session, page) {
      return pageOf(await call(session, 'GET', `/my/withdraw-records?${pageQueryString(page)}`), recordOf);
    },
    async entries(session, page) {
      return pageOf(await call(session, 'GET', `/my/entries?${pageQueryString(page)}`), entryOf);
    },
    async cards(session) {
      return rowsOf(await call(session, 'GET', '/my/cards')).map(cardOf);
    },
    async bindCard(session, callbackUrl) {
      return (await call(session, 'POST', '/my/cards', { callbackUrl })) as GatewayRequest;
    },
    async removeCard(session, cardId) {
      await call(session, 'DELETE', `/my/cards/${encodeURIComponent(cardId)}`);
    },
  };
}

/**
 * Wallet accounts by currency, card top-ups and transaction orders over their
 * contract API (/my/accounts, /my/card-recharges, /my/orders), in-process with
 * the user's session as the bearer token, like api-wallets.ts.
 */
import type { CofferApp } from '../platform/http/server.ts';
import { callApi } from './api-client.ts';
import type { UiEntry } from './ports.ts';

export interface UiAccount {
  id: string;
  accountNo: string;
  type: string;
  currency: string;
  balance: string;
  available: string;
  pending: string;
  status: string;
  /** Card top-ups go to it (the depository currency's wallet is recharged through the bank). */
  cardTopUps: boolean;
}

export interface UiOrder {
  id: string;
  type: string;
  serialNo: string;
  currency: string;
  amount: string;
  status: string;
  errorCode: string | null;
  transactedAt: string | null;
  createdAt: string;
}

export interface UiOrderDetail extends UiOrder {
  transfers: { id: string; code: string; amount: string; currency: string; state: string }[];
  entries: UiEntry[];
}

export function accountsApi(app: CofferApp, session: string) {
  return {
    accounts: async () => (await callApi(app, session, 'GET', '/my/accounts?type=WALLET')) as UiAccount[],
    open: async (currency: string, headers: Record<string, string>) =>
      (await callApi(app, session, 'POST', '/my/accounts', { type: 'WALLET', currency }, headers)) as UiAccount,
    topUp: async (body: { amount: string; currency: string; cardId: string }, headers: Record<string, string>) =>
      (await callApi(app, session, 'POST', '/my/card-recharges', body, headers)) as { order: UiOrder; payment: { payOrderNo: string } },
    orders: async (query: Record<string, string>) =>
      (await callApi(app, session, 'GET', `/my/orders?${new URLSearchParams(query)}`)) as { data: UiOrder[]; hasMore: boolean },
    order: async (id: string) => {
      const order = (await callApi(app, session, 'GET', `/my/orders/${encodeURIComponent(id)}`)) as Omit<UiOrderDetail, 'entries'> & { entries: (Omit<UiEntry, 'id'> & { seq: string })[] };
      return { ...order, entries: order.entries.map(({ seq, ...entry }) => ({ id: seq, ...entry })) } satisfies UiOrderDetail;
    },
  };
}

export type AccountsApi = ReturnType<typeof accountsApi>;

/**
 * The products port over the savings products' contract API (SPEC 7:
 * /products, /my/subscriptions), in-process with the user's session as the
 * bearer token, like api-wallets.ts: the pages meet the same checks an app would.
 */
import type { CofferApp } from '../platform/http/server.ts';
import { callApi, type ApiMethod, type Json } from './api-client.ts';
import type { UiHolding, UiPage, UiProduct, UiProductPage, UiQuote, WebProducts } from './ports.ts';

const productPath = (idOrCode: string) => `/products/${encodeURIComponent(idOrCode)}`;

export function apiProductsPort(app: CofferApp): WebProducts {
  const call = (session: string, method: ApiMethod, url: string, body?: Json, headers?: Record<string, string>) => callApi(app, session, method, url, body, headers);

  return {
    async list(session, page, size) {
      return (await call(session, 'GET', `/products?${new URLSearchParams({ page: String(page), size: String(size) })}`)) as UiProductPage;
    },
    async product(session, idOrCode) {
      return (await call(session, 'GET', productPath(idOrCode))) as UiProduct;
    },
    async quote(session, idOrCode, amount) {
      return (await call(session, 'GET', `${productPath(idOrCode)}/quote?${new URLSearchParams({ amount })}`)) as UiQuote;
    },
    async subscribe(session, order, idempotencyKey) {
      return (await call(session, 'POST', '/my/subscriptions', { ...order }, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {})) as UiHolding;
    },
    async holdings(session, page) {
      const query = new URLSearchParams({ limit: String(page.limit), ...(page.startingAfter ? { startingAfter: page.startingAfter } : {}) });
      return (await call(session, 'GET', `/my/subscriptions?${query}`)) as UiPage<UiHolding>;
    },
  };
}

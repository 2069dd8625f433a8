import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../platform/errors.ts';
import type { CofferApp, HttpModule } from '../platform/http/server.ts';
import { apiPaymentsPort } from './api-payments.ts';
import { apiProductsPort } from './api-products.ts';
import { apiWalletsPort } from './api-wallets.ts';
import { registerAssets } from './assets.ts';
import { createContext, formErrorsFrom, type WebContext } from './context.tsx';
import { uiContentSecurityPolicy } from './csp.ts';
import { CSRF_FIELD, csrfTokenMatches } from './csrf.ts';
import { sameOrigin } from '../platform/http/same-origin.ts';
import { messageFor } from './messages.ts';
import { parseMultipart } from './multipart.ts';
import { billPage } from './pages/bill.tsx';
import { cardsPage } from './pages/cards.tsx';
import { homePage } from './pages/home.tsx';
import { loginPage } from './pages/login.tsx';
import { logoutPage } from './pages/logout.tsx';
import { rechargePage } from './pages/recharge.tsx';
import { recordsPage } from './pages/records.tsx';
import { registerPage } from './pages/register.tsx';
import { walletPage } from './pages/wallet.tsx';
import { withdrawPage } from './pages/withdraw.tsx';
import { productsPages } from './pages/products.tsx';
import { paymentPages } from './pages/payment.tsx';
import { holdingsPage } from './pages/holdings.tsx';
import { couponsPage } from './pages/coupons.tsx';
import { paymentCardsPages } from './pages/payment-cards.tsx';
import { accountsPages } from './pages/accounts.tsx';
import { operatorLoginPage } from './pages/operator/login.tsx';
import { adminMerchantsPages } from './pages/admin/merchants.tsx';
import { adminOperatorsPages } from './pages/admin/operators.tsx';
import { adminRiskRulesPages } from './pages/admin/risk-rules.tsx';
import { adminBlacklistPages } from './pages/admin/risk-blacklist.tsx';
import { adminRiskDecisionsPages } from './pages/admin/risk-decisions.tsx';
import { adminSmsPage } from './pages/admin/sms.tsx';
import { adminBooksPage } from './pages/admin/books.tsx';
import { adminSettlementChecksPages } from './pages/admin/settlement-checks.tsx';
import { adminProductsPages } from './pages/admin/products.tsx';
import { adminChannelsPages } from './pages/admin/channels.tsx';
import { adminRoutingPage } from './pages/admin/routing.tsx';
import { adminCouponsPages } from './pages/admin/coupons.tsx';
import { adminClockPages } from './pages/admin/clock.tsx';
import { portalOverviewPage } from './pages/portal/overview.tsx';
import { portalKeysPages } from './pages/portal/keys.tsx';
import { portalPayoutsPages } from './pages/portal/payouts.tsx';
import { portalBatchesPages } from './pages/portal/batches.tsx';
import { portalWebhooksPages } from './pages/portal/webhooks.tsx';
import { portalReconciliationPages } from './pages/portal/reconciliation.tsx';
import type { WebPorts } from './ports.ts';
import { csrfBinding, optionalUiOperator, optionalUiUser, uiState } from './session.ts';

export interface WebOptions {
  ports: WebPorts;
  /**
   * Without `ports.wallets` (`products`, `payments`), the wallet pages use the
   * contract APIs in-process (api-wallets.ts, api-products.ts, api-payments.ts)
   * when this is true, or say they are unavailable.
   */
  walletsOverApi?: boolean;
  /** PUBLIC_URL: cookies are Secure when it is https. */
  publicUrl: string;
}

/** The largest form upload (a batch CSV) the UI takes. */
export const UPLOAD_LIMIT_BYTES = 4 * 1024 * 1024;

/** Every page of the UI, one file each; a new page is one line here. */
const PAGES: ((ctx: WebContext) => void)[] = [
  homePage,
  registerPage,
  loginPage,
  logoutPage,
  walletPage,
  rechargePage,
  withdrawPage,
  billPage,
  recordsPage,
  cardsPage,
  productsPages,
  paymentPages,
  holdingsPage,
  couponsPage,
  paymentCardsPages,
  accountsPages,
  operatorLoginPage,
  adminMerchantsPages,
  adminOperatorsPages,
  adminRiskRulesPages,
  adminBlacklistPages,
  adminRiskDecisionsPages,
  adminSmsPage,
  adminBooksPage,
  adminSettlementChecksPages,
  adminProductsPages,
  adminChannelsPages,
  adminRoutingPage,
  adminCouponsPages,
  adminClockPages,
  portalOverviewPage,
  portalKeysPages,
  portalPayoutsPages,
  portalBatchesPages,
  portalWebhooksPages,
  portalReconciliationPages,
];

/** Every POST (any unsafe method) in the UI must carry this browser's token and come from our own origin. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

async function checkCsrf(request: FastifyRequest): Promise<void> {
  if (SAFE_METHODS.has(request.method)) return;
  const state = uiState(request);
  const offered = (request.body as Record<string, unknown> | null | undefined)?.[CSRF_FIELD];
  const originOk = sameOrigin(request.headers, request.headers.host);
  if (originOk && csrfTokenMatches(state.csrfSecret, csrfBinding(state), offered)) return;
  request.log.warn({ originOk, hasToken: typeof offered === 'string' }, 'UI form post refused: CSRF check failed');
  throw new CsrfRejected();
}

class CsrfRejected extends DomainError {
  constructor() {
    super('FORBIDDEN', messageFor('CSRF_REJECTED', undefined));
  }
}

/** Anything a page did not handle itself becomes an HTML page with the problem's message, never JSON. */
function uiErrorHandler(ctx: WebContext) {
  return function handleUiError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    const failure = formErrorsFrom(error);
    if (failure.status >= 500) request.log.error({ err: error }, 'UI page failed');
    else request.log.info({ code: failure.code }, 'UI request refused');
    return ctx.render(request, reply, {
      status: failure.status,
      title: failure.status === 403 ? 'Not allowed' : failure.status === 404 ? 'Page not found' : 'Something went wrong',
      error: failure.message,
      children: (
        <p class="card">
          <a href="/ui/">Back to Coffer</a>
          <span class="muted"> · request {request.id}</span>
        </p>
      ),
    });
  };
}

/**
 * The wallet web UI: server-rendered pages under /ui/, assets under /assets/,
 * and `/` redirecting to /ui/. Its cookie and form parsers, CSRF check and
 * HTML error pages live in this module's own Fastify scope, so the JSON API is
 * untouched by them.
 */
export function webHttpModule(options: WebOptions): HttpModule {
  return {
    name: 'web',
    async register(app: CofferApp) {
      await app.register(fastifyCookie);
      await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
      // The batch upload's file input: collected whole (each route's bodyLimit bounds it), then split.
      app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: UPLOAD_LIMIT_BYTES }, async (request: FastifyRequest, body: Buffer) =>
        parseMultipart(body, String(request.headers['content-type'])),
      );
      app.decorateRequest('ui', null);
      app.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, hide: true };
      });
      // Every answer from this scope (redirects and errors too) carries the UI's policy;
      // a page that posts to the bank replaces it with one that allows that origin.
      app.addHook('onRequest', async (_request, reply) => {
        reply.header('content-security-policy', uiContentSecurityPolicy());
      });
      app.addHook('preHandler', checkCsrf);
      const ports: WebPorts = {
        ...options.ports,
        wallets: options.ports.wallets ?? (options.walletsOverApi ? apiWalletsPort(app) : undefined),
        products: options.ports.products ?? (options.walletsOverApi ? apiProductsPort(app) : undefined),
        payments: options.ports.payments ?? (options.walletsOverApi ? apiPaymentsPort(app) : undefined),
      };
      // Whoever holds a session cookie is known on every page (the layout shows their menus), not only on guarded ones.
      app.addHook('preHandler', async (request) => {
        const state = uiState(request);
        if (state.sessionToken) await optionalUiUser(request, ports);
        if (state.operatorToken) await optionalUiOperator(request, ports);
      });
      const ctx = createContext(app, ports, { secure: options.publicUrl.startsWith('https:') });
      app.setErrorHandler(uiErrorHandler(ctx));
      registerAssets(app);
      for (const page of PAGES) page(ctx);
      // Any other /ui/ address: a page that says so, in the layout, rather than the API's JSON 404.
      app.get('/ui/*', async () => {
        throw new DomainError('NOT_FOUND', 'There is no such page. Try the links above.');
      });
    },
  };
}

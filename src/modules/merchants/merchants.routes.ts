import { adminIdempotencyScope } from '../../platform/http/idempotency.ts';
import type { FastifyRequest } from 'fastify';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import { keepRawBody } from '../../platform/http/raw-body.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { formatMinor } from '../../platform/money/index.ts';
import { balancesOf, type Account } from '../ledger/index.ts';
import { adminActor, currentMerchant, currentOperator, merchantSecurity, operatorSecurity } from './merchants.auth.ts';
import * as s from './merchants.schemas.ts';
import { feeRuleView, type MerchantsService } from './merchants.service.ts';
import type { Adjustment, ApiKey, Merchant, Operator } from './merchants.types.ts';
import type { OperatorsService } from './operators.service.ts';

const problems = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  422: ProblemSchema,
  423: ProblemSchema,
};

export function merchantView(merchant: Merchant) {
  return {
    merchantId: merchant.id,
    name: merchant.name,
    status: merchant.status,
    products: merchant.products,
    fees: merchant.fees.map(feeRuleView),
    createdAt: merchant.createdAt.toISOString(),
    updatedAt: merchant.updatedAt.toISOString(),
  };
}

export function balanceView(account: Account) {
  const balances = balancesOf(account);
  return {
    accountId: account.id,
    accountNo: account.accountNo,
    currency: account.currency,
    balance: formatMinor(balances.balance, account.currency),
    available: formatMinor(balances.available, account.currency),
    pendingDebits: formatMinor(balances.pendingDebits, account.currency),
    status: account.status,
  };
}

function apiKeyView(key: ApiKey) {
  return {
    keyId: key.id,
    role: key.role,
    merchantId: key.merchantId,
    createdAt: key.createdAt.toISOString(),
    revokedAt: key.revokedAt ? key.revokedAt.toISOString() : null,
  };
}

function adjustmentView(adjustment: Adjustment) {
  return {
    adjustmentId: adjustment.id,
    merchantId: adjustment.merchantId,
    amount: formatMinor(adjustment.amountMinor, adjustment.currency),
    currency: adjustment.currency,
    reason: adjustment.reason,
    status: adjustment.status,
    accountId: adjustment.accountId,
    transferId: adjustment.transferId,
    createdBy: { kind: adjustment.createdByKind, id: adjustment.createdById },
    createdAt: adjustment.createdAt.toISOString(),
    postedAt: adjustment.postedAt ? adjustment.postedAt.toISOString() : null,
  };
}

function operatorView(operator: Operator) {
  return {
    operatorId: operator.id,
    username: operator.username,
    role: operator.role,
    merchantId: operator.merchantId,
    status: operator.status,
    createdAt: operator.createdAt.toISOString(),
  };
}

/** Admin credentials' Idempotency-Keys are scoped per credential: two admins' keys never collide. */

/** Signed requests' Idempotency-Keys are scoped per merchant (SPEC 5). */
export function merchantScope(request: FastifyRequest): string {
  return `merchant:${currentMerchant(request).merchantId}`;
}

/**
 * The admin API for onboarding (SPEC 5, a contract), operators and their
 * login, and the merchant API's `GET /v1/merchant`. The scope keeps raw
 * bodies: signed requests are verified over their exact bytes.
 */
export function merchantsHttpModule(merchants: MerchantsService, operators: OperatorsService): HttpModule {
  return {
    name: 'merchants',
    register(app) {
      keepRawBody(app);
      const tags = ['merchants (admin)'];
      const admin = { preHandler: app.requireAdmin };
      const security = adminSecurity;
      const adminIdempotency = app.idempotent(adminIdempotencyScope);

      app.post(
        '/admin/merchants',
        {
          preHandler: [app.requireAdmin, adminIdempotency.preHandler],
          onSend: adminIdempotency.onSend,
          schema: {
            tags,
            security,
            summary: 'Onboard a merchant: it starts PENDING_REVIEW',
            description: 'Accepts an `Idempotency-Key` header.',
            body: s.CreateMerchantBody,
            response: { 201: s.MerchantView, ...problems },
          },
        },
        async (request, reply) => reply.code(201).send(merchantView(await merchants.createMerchant(request.body, adminActor(request)))),
      );

      app.get(
        '/admin/merchants',
        { ...admin, schema: { tags, security, summary: 'Merchants, oldest first', querystring: s.MerchantsQuery, response: { 200: s.MerchantPage, ...problems } } },
        async (request) => {
          const page = await merchants.listMerchants(request.query);
          return { data: page.data.map(merchantView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/admin/merchants/:id',
        { ...admin, schema: { tags, security, summary: 'One merchant with its settlement balances', params: s.MerchantIdParams, response: { 200: s.MerchantDetailView, ...problems } } },
        async (request) => {
          const merchant = await merchants.getMerchant(request.params.id);
          const accounts = await merchants.settlementAccounts(merchant.id);
          return { ...merchantView(merchant), settlementAccounts: accounts.map(balanceView) };
        },
      );

      for (const action of ['activate', 'suspend'] as const) {
        app.post(
          `/admin/merchants/:id/${action}`,
          {
            ...admin,
            schema: {
              tags,
              security,
              summary: action === 'activate' ? 'Activate a merchant (after review, or after a suspension)' : 'Suspend an active merchant: its signed requests are refused',
              description: 'PENDING_REVIEW -> ACTIVE <-> SUSPENDED. Asking for the status it has is a no-op; any other move is 409 MERCHANT_STATUS_CONFLICT.',
              params: s.MerchantIdParams,
              response: { 200: s.MerchantView, ...problems },
            },
          },
          async (request) => {
            const actor = adminActor(request);
            const id = request.params.id;
            return merchantView(action === 'activate' ? await merchants.activate(id, actor) : await merchants.suspend(id, actor));
          },
        );
      }

      app.put(
        '/admin/merchants/:id/terms',
        { ...admin, schema: { tags, security, summary: 'Replace the enabled products and/or the fee rules', params: s.MerchantIdParams, body: s.UpdateTermsBody, response: { 200: s.MerchantView, ...problems } } },
        async (request) => merchantView(await merchants.updateTerms(request.params.id, request.body, adminActor(request))),
      );

      app.post(
        '/admin/merchants/:id/api-keys',
        {
          ...admin,
          // The body is optional (`{"role"?}`): a POST without one is a maker key.
          preValidation: async (request) => {
            if (request.body === undefined || request.body === null) (request as { body: unknown }).body = {};
          },
          schema: {
            tags,
            security,
            summary: 'A new API key; its secret is in this answer and never again',
            description: 'A merchant may hold several active keys (rotation). `role` is `maker` unless given.',
            params: s.MerchantIdParams,
            body: s.CreateApiKeyBody,
            response: { 201: s.CreatedApiKey, ...problems },
          },
        },
        async (request, reply) => {
          const { key, secret } = await merchants.createApiKey(request.params.id, request.body?.role, adminActor(request));
          reply.header('cache-control', 'no-store');
          return reply.code(201).send({ keyId: key.id, secret, role: key.role, merchantId: key.merchantId, createdAt: key.createdAt.toISOString() });
        },
      );

      app.get(
        '/admin/merchants/:id/api-keys',
        { ...admin, schema: { tags, security, summary: "The merchant's API keys (never their secrets)", params: s.MerchantIdParams, response: { 200: s.ApiKeyList, ...problems } } },
        async (request) => ({ data: (await merchants.listApiKeys(request.params.id)).map(apiKeyView) }),
      );

      app.delete(
        '/admin/merchants/:id/api-keys/:keyId',
        { ...admin, schema: { tags, security, summary: 'Revoke an API key at once (revoking twice is harmless)', params: s.ApiKeyParams, response: { 200: s.ApiKeyView, ...problems } } },
        async (request) => apiKeyView(await merchants.revokeApiKey(request.params.id, request.params.keyId, adminActor(request))),
      );

      app.post(
        '/admin/merchants/:id/adjustments',
        {
          preHandler: [app.requireAdmin, adminIdempotency.preHandler],
          onSend: adminIdempotency.onSend,
          schema: {
            tags,
            security,
            summary: "Credit the merchant's settlement account from the platform funding account",
            description:
              'Recorded with who and why (audit log); moves money once per adjustment (the ledger transfer id is `adjustment:<adjustmentId>`). ' +
              'Send an `Idempotency-Key` to retry safely: the same key and body answer the first response again; another body is 422 IDEMPOTENCY_KEY_REUSED; while the first is still running, 409 IDEMPOTENCY_KEY_IN_USE.',
            params: s.MerchantIdParams,
            body: s.AdjustmentBody,
            response: { 201: s.AdjustmentView, ...problems },
          },
        },
        async (request, reply) => {
          const claim = request.idempotencyClaim;
          const requestKey = claim ? `${claim.scope}|${claim.key}` : null;
          const adjustment = await merchants.adjust(request.params.id, request.body, adminActor(request), requestKey);
          return reply.code(201).send(adjustmentView(adjustment));
        },
      );

      app.get(
        '/admin/merchants/:id/adjustments',
        { ...admin, schema: { tags, security, summary: "The merchant's adjustments, newest first", params: s.MerchantIdParams, querystring: s.PageQuery, response: { 200: s.AdjustmentPage, ...problems } } },
        async (request) => {
          const page = await merchants.listAdjustments(request.params.id, request.query);
          return { data: page.data.map(adjustmentView), hasMore: page.hasMore };
        },
      );

      // ---- operators ----------------------------------------------------------------------------

      const operatorTags = ['operators'];

      app.post(
        '/admin/operators',
        {
          ...admin,
          schema: {
            tags: operatorTags,
            security,
            summary: 'Create an operator (admin, or maker / checker / viewer of a merchant)',
            body: s.CreateOperatorBody,
            response: { 201: s.OperatorView, ...problems },
          },
        },
        async (request, reply) => reply.code(201).send(operatorView(await operators.create(request.body, adminActor(request)))),
      );

      app.get(
        '/admin/operators',
        { ...admin, schema: { tags: operatorTags, security, summary: 'Operators, oldest first', querystring: s.PageQuery, response: { 200: s.OperatorPage, ...problems } } },
        async (request) => {
          const page = await operators.list(request.query);
          return { data: page.data.map(operatorView), hasMore: page.hasMore };
        },
      );

      for (const action of ['disable', 'enable'] as const) {
        app.post(
          `/admin/operators/:id/${action}`,
          {
            ...admin,
            schema: {
              tags: operatorTags,
              security,
              summary: action === 'disable' ? 'Disable an operator: its sessions stop working at once' : 'Enable a disabled operator again',
              params: s.IdParams,
              response: { 200: s.OperatorView, ...problems },
            },
          },
          async (request) => operatorView(await operators.setStatus(request.params.id, action === 'disable' ? 'DISABLED' : 'ACTIVE', adminActor(request))),
        );
      }

      app.post(
        '/operators/login',
        {
          schema: {
            tags: operatorTags,
            summary: "An operator's login: a session token for the admin console and the merchant portal",
            body: s.OperatorLoginBody,
            response: { 200: s.OperatorLoginResult, ...problems },
          },
        },
        async (request, reply) => {
          try {
            const session = await operators.login(request.body, request.id);
            reply.header('cache-control', 'no-store');
            return {
              token: session.token,
              expiresAt: session.expiresAt.toISOString(),
              operatorId: session.operator.id,
              role: session.operator.role,
              merchantId: session.operator.merchantId,
            };
          } catch (err) {
            const retryAfterS = (err as { extra?: { retryAfterS?: unknown } }).extra?.retryAfterS;
            if (typeof retryAfterS === 'number') reply.header('retry-after', String(retryAfterS));
            throw err;
          }
        },
      );

      app.post(
        '/operators/logout',
        {
          preHandler: app.requireOperator(['admin', 'maker', 'checker', 'viewer']),
          schema: { tags: operatorTags, security: operatorSecurity, summary: 'End this operator session', response: { 204: { type: 'null' }, ...problems } },
        },
        async (request, reply) => {
          const token = request.headers.authorization?.replace(/^Bearer +/i, '').trim() ?? '';
          await operators.logout(token);
          return reply.code(204).send(null);
        },
      );

      app.get(
        '/operators/me',
        {
          preHandler: app.requireOperator(['admin', 'maker', 'checker', 'viewer']),
          schema: { tags: operatorTags, security: operatorSecurity, summary: 'Which operator is logged in', response: { 200: s.OperatorMe, ...problems } },
        },
        async (request) => {
          const operator = currentOperator(request);
          return { operatorId: operator.id, username: operator.username, role: operator.role, merchantId: operator.merchantId };
        },
      );

      // ---- the merchant API (signed) -------------------------------------------------------------

      app.get(
        '/v1/merchant',
        {
          preValidation: app.requireMerchant,
          schema: {
            tags: ['merchant API'],
            security: merchantSecurity,
            summary: 'Who am I: the merchant of this API key, its status, products, fees and settlement balances',
            response: { 200: s.WhoAmI, ...problems },
          },
        },
        async (request) => {
          const me = currentMerchant(request);
          const merchant = await merchants.getMerchant(me.merchantId);
          const accounts = await merchants.settlementAccounts(merchant.id);
          const view = merchantView(merchant);
          return {
            merchantId: view.merchantId,
            name: view.name,
            status: view.status,
            products: view.products,
            fees: view.fees,
            key: { keyId: me.keyId, role: me.role },
            balances: accounts.map(balanceView),
          };
        },
      );
    },
  };
}

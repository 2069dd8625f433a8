import { Type } from 'typebox';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { balanceSummary, type Account } from '../ledger/index.ts';
import { OrderView, orderView } from '../orders/index.ts';
import { PaymentViewSchema, paymentView } from '../payments/index.ts';
import { assertCanMoveMoney, currentUser, userSecurity } from '../users/index.ts';
import type { WalletAccounts } from './wallets.accounts.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 503: ProblemSchema };
const Time = Type.String({ format: 'date-time' });

const AccountView = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  accountNo: Type.String({ description: 'Date + random digits (seed 002)' }),
  type: Type.String(),
  currency: Type.String(),
  balance: Type.String(),
  available: Type.String(),
  pending: Type.String({ description: 'Held for requests in progress' }),
  status: Type.String(),
  cardTopUps: Type.Boolean({ description: 'POST /my/card-recharges takes it: a WALLET not in the depository currency (whose money is held at the bank: recharged through it)' }),
  createdAt: Time,
  updatedAt: Time,
});

const OpenAccountBody = Type.Object(
  { type: Type.String({ maxLength: 32, examples: ['WALLET'] }), currency: Type.String({ maxLength: 8, examples: ['USD'] }) },
  { additionalProperties: false },
);
const AccountQuery = Type.Object({ type: Type.Optional(Type.String({ maxLength: 32 })), currency: Type.Optional(Type.String({ maxLength: 8 })) });
const CardRechargeBody = Type.Object(
  {
    amount: Type.String({ maxLength: 40, description: 'Decimal string in `currency`', examples: ['100.00'] }),
    currency: Type.String({ maxLength: 8, examples: ['USD'] }),
    cardId: Type.String({ maxLength: 64, description: 'One of GET /my/payment-cards' }),
  },
  { additionalProperties: false },
);
const CardRechargeView = Type.Object({ order: OrderView, payment: PaymentViewSchema });

function accountView(account: Account, accounts: WalletAccounts) {
  return {
    id: account.id,
    userId: account.ownerId,
    type: account.type,
    ...balanceSummary(account),
    cardTopUps: accounts.takesCardTopUps(account),
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  };
}

/** /my/accounts (open and query accounts by type and currency) and /my/card-recharges (top-up by card). */
export function walletAccountsHttpModule(accounts: WalletAccounts): HttpModule {
  return {
    name: 'wallet-accounts',
    register(app) {
      const schema = { tags: ['wallet'], security: userSecurity };
      const idem = app.idempotent((request) => `user:${currentUser(request).id}`);
      const mineOnce = { preHandler: [app.requireUser, idem.preHandler], onSend: idem.onSend };
      const retrySafe = 'Accepts an `Idempotency-Key` header: the same key and body again answers the first answer.';

      app.post(
        '/my/accounts',
        {
          ...mineOnce,
          schema: {
            ...schema,
            summary: 'Open an account of mine by type and currency (WALLET)',
            description: `One per type and currency (ACCOUNT_ALREADY_EXISTS); needs an opened depository account (ACCOUNT_NOT_OPENED). ${retrySafe}`,
            body: OpenAccountBody,
            response: { 201: AccountView, ...problems },
          },
        },
        async (request, reply) => {
          const opened = await accounts.open(currentUser(request), request.body, request.idempotencyClaim?.firstClaimedAt);
          return reply.code(201).send(accountView(opened, accounts));
        },
      );

      app.get(
        '/my/accounts',
        { preHandler: app.requireUser, schema: { ...schema, summary: 'My accounts, by type and currency', querystring: AccountQuery, response: { 200: Type.Array(AccountView), ...problems } } },
        async (request) => (await accounts.list(currentUser(request).id, request.query)).map((account) => accountView(account, accounts)),
      );

      app.post(
        '/my/card-recharges',
        {
          ...mineOnce,
          schema: {
            ...schema,
            summary: 'Top up a wallet by card: a RECHARGE_CARD order and a payment order, with the SMS step started',
            description: `Then confirm the payment with the SMS code (POST /my/payments/{payOrderNo}/confirm); the order follows the payment's result. ${retrySafe}`,
            body: CardRechargeBody,
            response: { 201: CardRechargeView, ...problems },
          },
        },
        async (request, reply) => {
          const user = currentUser(request);
          assertCanMoveMoney(user);
          const { order, payment } = await accounts.cardRecharge(user, request.body, request.idempotencyClaim?.key);
          return reply.code(201).send({ order: orderView(order), payment: paymentView(payment) });
        },
      );
    },
  };
}

import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { GatewayRequestView } from '../depository/index.ts';
import { EntryView, entryView } from '../ledger/index.ts';
import { assertCanMoveMoney, currentUser, userSecurity } from '../users/index.ts';
import * as s from './wallets.schemas.ts';
import type { WalletsService } from './wallets.service.ts';
import type { WithdrawStarted } from './wallets.withdrawals.ts';
import { cardView, rechargeView, walletView, withdrawView } from './wallets.views.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 503: ProblemSchema };
const tags = ['wallet'];

function pageArgs(query: { limit?: number; startingAfter?: string }) {
  return {
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
    ...(query.startingAfter !== undefined ? { startingAfter: query.startingAfter } : {}),
  };
}

/** The user center's /my routes (SPEC 3, 4; contract). Every one acts on the logged-in user only. */
export function walletsHttpModule(wallets: WalletsService): HttpModule {
  return {
    name: 'wallets',
    register(app) {
      const mine = { preHandler: app.requireUser };
      const schema = { tags, security: userSecurity };
      // POSTs take an Idempotency-Key (SPEC 9: every write is safe to retry): a retry answers the first request's answer.
      const idem = app.idempotent((request) => `user:${currentUser(request).id}`);
      const mineOnce = { preHandler: [app.requireUser, idem.preHandler], onSend: idem.onSend };
      const retrySafe = 'Accepts an `Idempotency-Key` header: the same key and body again answers the first answer.';

      app.post(
        '/my/depository-accounts',
        { ...mineOnce, schema: { ...schema, summary: 'Open a depository account: a signed PERSONAL_REGISTER to post to the bank', description: retrySafe, body: s.OpenDepositoryAccountBody, response: { 201: GatewayRequestView, ...problems } } },
        async (request, reply) => reply.code(201).send(await wallets.openDepositoryAccount(currentUser(request), request.body, request.idempotencyClaim?.firstClaimedAt)),
      );

      app.get(
        '/my/wallets',
        { ...mine, schema: { ...schema, summary: 'My wallets with balances', response: { 200: Type.Array(s.WalletView), ...problems } } },
        async (request) => (await wallets.wallets(currentUser(request).id)).map(walletView),
      );

      app.post(
        '/my/recharge-records',
        { ...mineOnce, schema: { ...schema, summary: 'Recharge from my bank card: a signed RECHARGE to post to the bank', description: retrySafe, body: s.RechargeBody, response: { 201: GatewayRequestView, ...problems } } },
        async (request, reply) => {
          const user = currentUser(request);
          assertCanMoveMoney(user);
          return reply.code(201).send(await wallets.createRecharge(user, request.body, request.idempotencyClaim?.key));
        },
      );

      app.post(
        '/my/withdraw-records',
        {
          ...mineOnce,
          schema: {
            ...schema,
            summary: 'Withdraw to my bank card: holds amount + fee, returns a signed WITHDRAW (201), or the checks risk control asks for first (202)',
            description: `${retrySafe} A withdrawal risk control rates MEDIUM or HIGH answers 202 with an SMS code sent to the user's mobile (POST /my/withdraw-records/{id}/verification); HIGH then also waits for a reviewer (POST /my/withdraw-records/{id}/continue once READY).`,
            body: s.WithdrawBody,
            response: { 201: GatewayRequestView, 202: s.WithdrawVerificationView, ...problems },
          },
        },
        async (request, reply) => {
          const user = currentUser(request);
          assertCanMoveMoney(user);
          const { amount, callbackUrl, cardNumberMasked } = request.body;
          return sendStarted(reply, await wallets.withdrawals.create(user, { amount, callbackUrl, ...(cardNumberMasked !== undefined ? { cardNumberMasked } : {}) }, request.idempotencyClaim?.key));
        },
      );

      app.post(
        '/my/withdraw-records/:id/verification',
        {
          ...mine,
          schema: {
            ...schema,
            summary: 'The SMS code of a withdrawal risk control holds back: the signed WITHDRAW (201), or it waits for a reviewer (202)',
            params: s.RecordIdParams,
            body: s.VerifyWithdrawBody,
            response: { 201: GatewayRequestView, 202: s.WithdrawVerificationView, ...problems },
          },
        },
        async (request, reply) => {
          const user = currentUser(request);
          assertCanMoveMoney(user);
          return sendStarted(reply, await wallets.withdrawals.verify(user, request.params.id, request.body.code));
        },
      );

      app.post(
        '/my/withdraw-records/:id/continue',
        { ...mine, schema: { ...schema, summary: 'A reviewed (READY) withdrawal goes on to the bank: the signed WITHDRAW', params: s.RecordIdParams, response: { 201: GatewayRequestView, ...problems } } },
        async (request, reply) => {
          const user = currentUser(request);
          assertCanMoveMoney(user);
          return reply.code(201).send(await wallets.withdrawals.continue(user, request.params.id));
        },
      );

      app.get(
        '/my/recharge-records',
        { ...mine, schema: { ...schema, summary: 'My recharges, newest first', querystring: s.PageQuery, response: { 200: s.pageOf(s.RechargeRecordView), ...problems } } },
        async (request) => {
          const page = await wallets.rechargeRecords(currentUser(request).id, pageArgs(request.query));
          return { data: page.data.map(rechargeView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/my/withdraw-records',
        { ...mine, schema: { ...schema, summary: 'My withdrawals, newest first', querystring: s.PageQuery, response: { 200: s.pageOf(s.WithdrawRecordView), ...problems } } },
        async (request) => {
          const page = await wallets.withdrawRecords(currentUser(request).id, pageArgs(request.query));
          return { data: page.data.map(withdrawView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/my/entries',
        { ...mine, schema: { ...schema, summary: 'My bill: the entries of my wallet, newest first', querystring: s.PageQuery, response: { 200: s.pageOf(EntryView), ...problems } } },
        async (request) => {
          const page = await wallets.entries(currentUser(request).id, pageArgs(request.query));
          return { data: page.data.map(entryView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/my/cards',
        { ...mine, schema: { ...schema, summary: 'My bound debit cards, masked', response: { 200: Type.Array(s.CardView), ...problems } } },
        async (request) => (await wallets.cards(currentUser(request).id)).map(cardView),
      );

      app.post(
        '/my/cards',
        {
          ...mineOnce,
          schema: {
            ...schema,
            summary: 'Add a debit card in my own name through the bank: a signed BIND_CARD to post to the bank',
            description: `Needs an opened depository account (ACCOUNT_NOT_OPENED otherwise) and a user who is not frozen (USER_FROZEN). The card shows in GET /my/cards once the bank confirms. ${retrySafe}`,
            body: s.BindCardBody,
            response: { 201: GatewayRequestView, ...problems },
          },
        },
        async (request, reply) => {
          // A frozen account adding a payout card is how a taken-over account is emptied later: refused.
          const user = currentUser(request);
          assertCanMoveMoney(user);
          return reply.code(201).send(await wallets.bindCard(user, request.body, request.idempotencyClaim?.firstClaimedAt));
        },
      );

      app.delete(
        '/my/cards/:id',
        {
          ...mine,
          schema: {
            ...schema,
            summary: 'Remove one of my bound cards',
            description: 'Another user’s card id answers 404 CARD_NOT_FOUND; a card a PENDING withdrawal pays out to answers 409 CARD_IN_USE.',
            params: s.CardParams,
            response: { 204: Type.Null(), ...problems },
          },
        },
        async (request, reply) => {
          await wallets.removeCard(currentUser(request), request.params.id);
          return reply.code(204).send(null);
        },
      );
    },
  };
}

function sendStarted(reply: FastifyReply, started: WithdrawStarted) {
  if (started.kind === 'gateway') return reply.code(201).send(started.gateway);
  return reply.code(202).send({
    record: withdrawView(started.record),
    verification: [...started.verification],
    sms: started.sms ? { challengeId: started.sms.challengeId, expiresAt: started.sms.expiresAt.toISOString() } : null,
  });
}

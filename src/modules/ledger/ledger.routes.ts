import { Type } from 'typebox';
import { DomainError } from '../../platform/errors.ts';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currencyCode, parseMoney } from '../../platform/money/index.ts';
import * as s from './ledger.schemas.ts';
import type { LedgerService } from './ledger.service.ts';
import type { AccountId, TransferRequest } from './ledger.types.ts';
import { accountView, entryView, transferView } from './ledger.views.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };
const tags = ['ledger (admin)'];

function transferRequest(body: s.TransferBody): TransferRequest {
  const currency = currencyCode(body.currency);
  return {
    id: body.id,
    debitAccountId: body.debitAccountId as AccountId,
    creditAccountId: body.creditAccountId as AccountId,
    amountMinor: parseMoney(body.amount, currency).amountMinor,
    currency,
    code: body.code,
    ...(body.reference !== undefined ? { reference: body.reference } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    ...(body.pending !== undefined ? { pending: body.pending } : {}),
  };
}

function optionalDate(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new DomainError('VALIDATION_FAILED', `${field} must be an ISO-8601 time`);
  return date;
}

/** A partial amount is written in the pending transfer's currency. */
async function amountOfPending(ledger: LedgerService, pendingId: string, amount: string): Promise<bigint> {
  const pending = await ledger.getTransfer(pendingId).catch(() => {
    throw new DomainError('PENDING_TRANSFER_NOT_FOUND', `No pending transfer ${pendingId}`);
  });
  return parseMoney(amount, pending.currency).amountMinor;
}

/** The ledger's admin API: operators and automation look at and correct the books here. */
export function ledgerHttpModule(ledger: LedgerService): HttpModule {
  return {
    name: 'ledger',
    register(app) {
      const guarded = { preHandler: app.requireAdmin };

      app.post(
        '/admin/ledger/accounts',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'Open a ledger account', body: s.OpenAccountBody, response: { 201: s.AccountView, ...problems } } },
        async (request, reply) => {
          const account = await ledger.openAccount({ ...request.body, currency: currencyCode(request.body.currency) });
          return reply.code(201).send(accountView(account));
        },
      );

      app.get(
        '/admin/ledger/accounts/:id',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'An account with its balances', params: s.AccountIdParams, response: { 200: s.AccountView, ...problems } } },
        async (request) => accountView(await ledger.getAccount(request.params.id)),
      );

      for (const action of ['freeze', 'unfreeze'] as const) {
        app.post(
          `/admin/ledger/accounts/:id/${action}`,
          { ...guarded, schema: { tags, security: adminSecurity, summary: `${action === 'freeze' ? 'Freeze' : 'Unfreeze'} an account (a frozen account accepts no debits)`, params: s.AccountIdParams, response: { 200: s.AccountView, ...problems } } },
          async (request) => {
            const id = request.params.id;
            return accountView(action === 'freeze' ? await ledger.freezeAccount(id) : await ledger.unfreezeAccount(id));
          },
        );
      }

      app.get(
        '/admin/ledger/accounts/:id/entries',
        { ...guarded, schema: { tags, security: adminSecurity, summary: "An account's entries, newest first (its bill)", params: s.AccountIdParams, querystring: s.EntriesQuery, response: { 200: s.EntryPage, ...problems } } },
        async (request) => {
          const { limit, startingAfter, from, to } = request.query;
          const fromDate = optionalDate(from, 'from');
          const toDate = optionalDate(to, 'to');
          const page = await ledger.entries(request.params.id, {
            ...(limit !== undefined ? { limit } : {}),
            ...(startingAfter !== undefined ? { startingAfter } : {}),
            ...(fromDate ? { from: fromDate } : {}),
            ...(toDate ? { to: toDate } : {}),
          });
          return { data: page.data.map(entryView), hasMore: page.hasMore };
        },
      );

      app.post(
        '/admin/ledger/transfers',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'Move (or, with `pending`, hold) money between two accounts', body: s.TransferBody, response: { 201: s.TransferView, ...problems } } },
        async (request, reply) => reply.code(201).send(transferView(await ledger.transfer(transferRequest(request.body)))),
      );

      app.post(
        '/admin/ledger/linked-transfers',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'Transfers that all happen or none does', body: s.LinkedTransfersBody, response: { 201: Type.Array(s.TransferView), ...problems } } },
        async (request, reply) => {
          const transfers = await ledger.linkedTransfers(request.body.transfers.map(transferRequest));
          return reply.code(201).send(transfers.map(transferView));
        },
      );

      app.post(
        '/admin/ledger/transfers/:id/post',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'Post a pending transfer, fully or in part', params: s.TransferIdParams, body: s.PostPendingBody, response: { 201: s.TransferView, ...problems } } },
        async (request, reply) => {
          const { amount, ...rest } = request.body;
          const posted = await ledger.postPending({
            ...rest,
            pendingId: request.params.id,
            ...(amount !== undefined ? { amountMinor: await amountOfPending(ledger, request.params.id, amount) } : {}),
          });
          return reply.code(201).send(transferView(posted));
        },
      );

      app.post(
        '/admin/ledger/transfers/:id/void',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'Void a pending transfer, releasing what it holds', params: s.TransferIdParams, body: s.VoidPendingBody, response: { 201: s.TransferView, ...problems } } },
        async (request, reply) => reply.code(201).send(transferView(await ledger.voidPending({ ...request.body, pendingId: request.params.id }))),
      );

      app.get(
        '/admin/ledger/transfers/:id',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'A transfer', params: s.TransferIdParams, response: { 200: s.TransferView, ...problems } } },
        async (request) => transferView(await ledger.getTransfer(request.params.id)),
      );

      app.get(
        '/admin/ledger/invariants',
        { ...guarded, schema: { tags, security: adminSecurity, summary: 'Check every ledger invariant now', response: { 200: s.InvariantReportView, ...problems } } },
        async () => ledger.checkInvariants(),
      );

      app.get(
        '/admin/ledger/chain',
        { ...guarded, schema: { tags, security: adminSecurity, summary: "Verify the journal's hash chains now and name the first broken link", response: { 200: s.ChainReportView, ...problems } } },
        async () => ledger.verifyChain(),
      );
    },
  };
}

import {
  QUERY_TRANSACTION,
  type QueryPendingData,
  type QueryRequestData,
  UNBIND_CARD,
  type UnbindCardData,
  type UnbindCardResultData,
} from '../protocol/depository.ts';
import { QUERY_PAYOUT } from '../protocol/payout-channel.ts';
import type { BankContext } from './context.ts';
import { expireRequest, platformData, requestExpired } from './gateway.service.ts';
import { type Refusal, refused, type SignedBody, signedByBank, signedText, verifiedPlatformMessage } from './envelope.ts';
import { queryPayout } from './payouts.service.ts';
import { cardsOf, findRequest, unbindCard } from './repository.ts';
import { maskCardNumber } from './validation.ts';

export interface ServiceCall {
  serviceName?: unknown;
  platformNo?: unknown;
  reqData?: unknown;
  signature?: unknown;
}

export type ServiceAnswer = { ok: true; body: SignedBody } | Refusal;

/**
 * POST /service, server to server: QUERY_TRANSACTION answers a depository
 * request's own result (BankResultData) once final, else QueryPendingData;
 * QUERY_PAYOUT answers a payout's PayoutResultData. Always bank-signed.
 */
export async function answerServiceCall(ctx: BankContext, call: ServiceCall): Promise<ServiceAnswer> {
  const offered = [QUERY_TRANSACTION, QUERY_PAYOUT, UNBIND_CARD];
  if (!offered.includes(call.serviceName as string)) {
    if (call.platformNo !== ctx.config.platformNo) return refused(400, 'UNKNOWN_PLATFORM', `The platform "${String(call.platformNo)}" has no contract with this bank.`);
    return refused(400, 'UNKNOWN_SERVICE', `Only ${offered.join(', ')} are offered server to server.`);
  }
  const verified = verifiedPlatformMessage(ctx, call);
  if ('ok' in verified) return refused(verified.status, verified.code, verified.detail);
  if (call.serviceName === QUERY_PAYOUT) {
    const answer = await queryPayout(ctx, verified.reqData);
    return answer.ok ? { ok: true, body: answer.body } : answer;
  }
  if (call.serviceName === UNBIND_CARD) {
    const unbind = parseUnbind(verified.reqData);
    if (!unbind) return refused(400, 'VALIDATION_FAILED', 'reqData must be a JSON object with string requestNo, userNo and cardNumberMasked.');
    return { ok: true, body: signedByBank(ctx, await unbindResult(ctx, unbind)) };
  }
  const query = parseQuery(verified.reqData);
  if (!query) return refused(400, 'VALIDATION_FAILED', 'reqData must be a JSON object with a string requestNo.');
  return { ok: true, body: signedText(ctx, await resultText(ctx, query.requestNo)) };
}

function parseUnbind(text: string): UnbindCardData | undefined {
  try {
    const value = JSON.parse(text) as Partial<UnbindCardData> | null;
    const ok = value && [value.requestNo, value.userNo, value.cardNumberMasked].every((f) => typeof f === 'string' && f.length > 0 && f.length <= 256);
    return ok ? (value as UnbindCardData) : undefined;
  } catch {
    return undefined;
  }
}

/** The user's card the platform names (full or masked number) stops being theirs; NOT_BOUND when none matches. */
async function unbindResult(ctx: BankContext, data: UnbindCardData): Promise<UnbindCardResultData> {
  const card = (await cardsOf(ctx.db, data.userNo)).find((c) => c.card_number === data.cardNumberMasked || maskCardNumber(c.card_number) === data.cardNumberMasked);
  const unbound = card ? await unbindCard(ctx.db, card.card_number, data.userNo) : false;
  ctx.log.info({ requestNo: data.requestNo, userNo: data.userNo, unbound }, 'card unbind requested by the platform');
  return {
    requestNo: data.requestNo,
    userNo: data.userNo,
    cardNumberMasked: data.cardNumberMasked,
    status: unbound ? 'UNBOUND' : 'NOT_BOUND',
    timestamp: new Date().toISOString(),
  };
}

function parseQuery(text: string): QueryRequestData | undefined {
  try {
    const value = JSON.parse(text) as Partial<QueryRequestData> | null;
    return value && typeof value.requestNo === 'string' && value.requestNo.length > 0 ? (value as QueryRequestData) : undefined;
  } catch {
    return undefined;
  }
}

async function resultText(ctx: BankContext, requestNo: string): Promise<string> {
  let request = await findRequest(ctx.db, ctx.config.platformNo, requestNo);
  if (request?.status === 'PENDING' && requestExpired(platformData(request))) {
    await expireRequest(ctx, request);
    request = await findRequest(ctx.db, ctx.config.platformNo, requestNo);
  }
  if (request?.result_data) return request.result_data;
  const pending: QueryPendingData = { requestNo, status: request ? 'PENDING' : 'NOT_FOUND', timestamp: new Date().toISOString() };
  return JSON.stringify(pending);
}

import { QUERY_TRANSACTION, type QueryPendingData, type QueryRequestData, signText } from '../protocol/depository.ts';
import { QUERY_PAYOUT } from '../protocol/payout-channel.ts';
import type { BankContext } from './context.ts';
import { expireRequest, platformData, requestExpired } from './gateway.service.ts';
import { queryPayout, verifiedPlatformMessage } from './payouts.service.ts';
import { findRequest } from './repository.ts';

export interface ServiceCall {
  serviceName?: unknown;
  platformNo?: unknown;
  reqData?: unknown;
  signature?: unknown;
}

export type ServiceAnswer =
  | { ok: true; body: { reqData: string; signature: string } }
  | { ok: false; status: 400 | 409 | 503; code: string; detail: string };

function problem(status: 400 | 409 | 503, code: string, detail: string): ServiceAnswer {
  return { ok: false, status, code, detail };
}

/**
 * POST /service, server to server: QUERY_TRANSACTION answers a depository
 * request's own result (BankResultData) once final, else QueryPendingData;
 * QUERY_PAYOUT answers a payout's PayoutResultData. Always bank-signed.
 */
export async function answerServiceCall(ctx: BankContext, call: ServiceCall): Promise<ServiceAnswer> {
  if (call.serviceName !== QUERY_TRANSACTION && call.serviceName !== QUERY_PAYOUT) {
    if (call.platformNo !== ctx.config.platformNo) return problem(400, 'UNKNOWN_PLATFORM', `The platform "${String(call.platformNo)}" has no contract with this bank.`);
    return problem(400, 'UNKNOWN_SERVICE', `Only ${QUERY_TRANSACTION} and ${QUERY_PAYOUT} are offered server to server.`);
  }
  const verified = verifiedPlatformMessage(ctx, call);
  if ('ok' in verified) return problem(verified.status, verified.code, verified.detail);
  if (call.serviceName === QUERY_PAYOUT) {
    const answer = await queryPayout(ctx, verified.reqData);
    return answer.ok ? { ok: true, body: answer.body } : problem(answer.status, answer.code, answer.detail);
  }
  const query = parseQuery(verified.reqData);
  if (!query) return problem(400, 'VALIDATION_FAILED', 'reqData must be a JSON object with a string requestNo.');
  const reqData = await resultText(ctx, query.requestNo);
  return { ok: true, body: { reqData, signature: signText(reqData, ctx.bankPrivateKey) } };
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

/**
 * The daily settlement statement (src/protocol/statement.ts): every depository
 * request (recharge, withdrawal), payout order and card channel debit that
 * reached its final status on one UTC day of the bank's clock, signed with the
 * bank's key. The platform asks for it with a signed request, like its other
 * server-to-server calls.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { formatMinor, type CurrencyCode } from '../platform/money/money.ts';
import { isStatementDate, STATEMENT_PATH, type StatementData, type StatementLine, type StatementRequestData } from '../protocol/statement.ts';
import type { BankContext } from './context.ts';
import { type Refusal, refused, type SignedBody, signedByBank, verifiedPlatformMessage } from './envelope.ts';
import { sendProblem } from './problem.ts';

const DAY_MS = 86_400_000;

interface Row {
  kind: StatementLine['kind'];
  id: string;
  service: string;
  amount_minor: bigint | string;
  currency: string;
  status: string;
  final_at: Date;
}

/** The day's lines, ordered by kind and id (the same statement twice is the same text but for generatedAt). */
export async function statementLines(ctx: BankContext, date: string): Promise<StatementLine[]> {
  const from = new Date(`${date}T00:00:00.000Z`);
  const to = new Date(from.getTime() + DAY_MS);
  const { rows } = await sql<Row>`
    select 'DEPOSITORY' as kind, request_no as id, service_name as service, amount_minor, currency, status, updated_at as final_at
    from bank_requests
    where platform_no = ${ctx.config.platformNo} and service_name in ('RECHARGE', 'WITHDRAW') and status <> 'PENDING'
      and updated_at >= ${from} and updated_at < ${to}
    union all
    select 'PAYOUT', payout_id, 'PAYOUT', amount_minor, currency, status, updated_at
    from bank_payouts
    where platform_no = ${ctx.config.platformNo} and status <> 'PROCESSING' and updated_at >= ${from} and updated_at < ${to}
    union all
    select 'CHANNEL_DEBIT', attempt_no, channel_code, amount_minor, currency, status, updated_at
    from bank_channel_attempts
    where status <> 'SMS_SENT' and updated_at >= ${from} and updated_at < ${to}
    order by 1, 2`.execute(ctx.db);
  return rows.map((row) => ({
    kind: row.kind,
    id: row.id,
    service: row.service,
    amount: formatMinor(BigInt(row.amount_minor), row.currency as CurrencyCode),
    currency: row.currency,
    status: row.status,
    finalAt: row.final_at.toISOString(),
  }));
}

/** A verified request for `date`'s statement, answered signed; or why not. */
export async function answerStatement(ctx: BankContext, date: string, query: Record<string, unknown>): Promise<SignedBody | Refusal> {
  const verified = verifiedPlatformMessage(ctx, query);
  if ('ok' in verified) return verified;
  let request: Partial<StatementRequestData> | null;
  try {
    request = JSON.parse(verified.reqData) as Partial<StatementRequestData> | null;
  } catch {
    request = null;
  }
  if (!isStatementDate(date) || request?.date !== date) {
    return refused(400, 'VALIDATION_FAILED', 'reqData must be a JSON object whose date (yyyy-mm-dd) is the one in the path.');
  }
  const now = new Date();
  const data: StatementData = {
    platformNo: ctx.config.platformNo,
    date,
    complete: now.getTime() >= new Date(`${date}T00:00:00.000Z`).getTime() + DAY_MS,
    generatedAt: now.toISOString(),
    lines: await statementLines(ctx, date),
  };
  return signedByBank(ctx, data);
}

export function registerStatementRoutes(app: FastifyInstance, ctx: BankContext): void {
  app.get(`${STATEMENT_PATH}/:date`, async (req, reply) => {
    const { date } = req.params as { date: string };
    const answer = await answerStatement(ctx, date, req.query as Record<string, unknown>);
    if ('ok' in answer) return sendProblem(reply, answer.status, answer.code, answer.detail);
    return reply.header('cache-control', 'no-store').send(answer);
  });
}

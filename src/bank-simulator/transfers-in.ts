/**
 * Incoming transfers (src/protocol/transfer-in.ts): the sandbox control records
 * money wired to the platform's account and the bank notifies the platform
 * (TRANSFER_IN) with the same signed, retried, dead-lettered notifications as
 * every other result (notifier.ts), in the same transaction as the record.
 */
import type { FastifyInstance } from 'fastify';
import { signText } from '../protocol/depository.ts';
import { PAYEE_ACCOUNT_NO, TRANSFER_IN_NOTIFICATION, type TransferInData } from '../protocol/transfer-in.ts';
import { newId } from '../platform/ids.ts';
import { type CurrencyCode, formatMinor, isCurrencyCode, parseMoney } from '../platform/money/money.ts';
import type { BankContext } from './context.ts';
import { sendProblem } from './problem.ts';
import { type BankTx, insertNotification } from './repository.ts';
import * as transfers from './transfers-in.repository.ts';
import type { TransferInRow } from './transfers-in.repository.ts';
import { jsonBody, sandboxGuard } from './sandbox.routes.ts';

const LIST_LIMIT = 200;
const DEFAULT_PAYER = 'Sandbox payer';

function transferView(row: TransferInRow) {
  return {
    transferNo: row.transfer_no,
    payeeAccountNo: row.payee_account_no,
    amount: formatMinor(row.amount_minor, row.currency as CurrencyCode),
    currency: row.currency,
    payerName: row.payer_name,
    created: row.created_at.toISOString(),
  };
}

/** The sandbox body checked: the transfer to record, or why not. */
function validate(body: Record<string, unknown>): { payeeAccountNo: string; currency: CurrencyCode; amountMinor: bigint; payerName: string } | string {
  const { payeeAccountNo, amount, currency, payerName } = body;
  if (typeof payeeAccountNo !== 'string' || !PAYEE_ACCOUNT_NO.test(payeeAccountNo)) return 'payeeAccountNo must be 4-34 letters or digits';
  if (typeof currency !== 'string' || !isCurrencyCode(currency)) return `currency "${String(currency)}" is not supported`;
  let amountMinor: bigint;
  try {
    amountMinor = parseMoney(amount, currency).amountMinor;
  } catch (err) {
    return (err as Error).message;
  }
  if (payerName !== undefined && (typeof payerName !== 'string' || payerName.trim().length === 0 || payerName.length > 128)) {
    return 'payerName must be 1-128 characters';
  }
  return { payeeAccountNo, currency, amountMinor, payerName: payerName?.trim() ?? DEFAULT_PAYER };
}

/** Records an incoming transfer and its notification in one transaction. */
async function receiveTransfer(ctx: BankContext, transfer: Exclude<ReturnType<typeof validate>, string>): Promise<TransferInRow> {
  const transferNo = newId('bti');
  const data: TransferInData = {
    transferNo,
    payeeAccountNo: transfer.payeeAccountNo,
    amount: formatMinor(transfer.amountMinor, transfer.currency),
    currency: transfer.currency,
    payerName: transfer.payerName,
    timestamp: new Date().toISOString(),
  };
  const reqData = JSON.stringify(data);
  const row = await ctx.db.transaction().execute(async (tx: BankTx) => {
    const recorded = await transfers.insertTransfer(tx, {
      platform_no: ctx.config.platformNo,
      transfer_no: transferNo,
      payee_account_no: transfer.payeeAccountNo,
      amount_minor: transfer.amountMinor,
      currency: transfer.currency,
      payer_name: transfer.payerName,
      notify_url: ctx.config.transferInNotifyUrl,
      req_data: reqData,
    });
    await insertNotification(tx, {
      id: newId('ntf'),
      platform_no: ctx.config.platformNo,
      request_no: transferNo,
      service_name: TRANSFER_IN_NOTIFICATION,
      status: 'SUCCESS',
      notify_url: ctx.config.transferInNotifyUrl,
      req_data: reqData,
      signature: signText(reqData, ctx.bankPrivateKey),
      firstDelayMs: ctx.sender.delayBeforeAttemptMs(0) ?? 0,
    });
    return recorded;
  });
  ctx.log.info({ transferNo, payeeAccountNo: transfer.payeeAccountNo }, 'incoming transfer received');
  ctx.sender.poke();
  return row;
}

/** Sandbox: `POST /sandbox/transfers-in` (someone wires money to the platform) and `GET /sandbox/transfers-in?transferNo=`. */
export function registerTransferInRoutes(app: FastifyInstance, ctx: BankContext): void {
  app.register(async (sandbox) => {
    sandbox.addHook('onRequest', sandboxGuard(ctx));

    sandbox.post('/sandbox/transfers-in', async (req, reply) => {
      const transfer = validate(jsonBody(req));
      if (typeof transfer === 'string') return sendProblem(reply, 400, 'VALIDATION_FAILED', transfer);
      return reply.code(201).send(transferView(await receiveTransfer(ctx, transfer)));
    });

    sandbox.get('/sandbox/transfers-in', async (req) => {
      const { transferNo } = req.query as { transferNo?: string };
      return (await transfers.listTransfers(ctx.db, transferNo || undefined, LIST_LIMIT)).map(transferView);
    });
  });
}

import { type JsonValue, recordAudit } from '../../platform/audit.ts';
import { BankPublicKey } from '../../platform/bank-key.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Config } from '../../platform/config.ts';
import { DomainError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { type CurrencyCode, currencyCode, formatMinor, parseMoney } from '../../platform/money/index.ts';
import { parseTransferIn, TRANSFER_IN_NOTIFICATION, type TransferInData } from '../../protocol/transfer-in.ts';
import type { Account, AccountId, LedgerService, Page } from '../ledger/index.ts';
import * as repo from './merchants.funding.repository.ts';
import type { Executor } from './merchants.repository.ts';

/** CREDITED: to the merchant whose settlement account was named. UNMATCHED: no such account; held in suspense. */
export const transferInStatuses = ['CREDITED', 'UNMATCHED'] as const;
export type TransferInStatus = (typeof transferInStatuses)[number];

export interface TransferIn {
  transferNo: string;
  status: TransferInStatus;
  merchantId: string | null;
  payeeAccountNo: string;
  /** The ledger account credited: the merchant's settlement account, or the platform's suspense account. */
  accountId: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  payerName: string;
  bankTimestamp: string;
  ledgerTransferId: string;
  createdAt: Date;
  postedAt: Date | null;
}

export interface FundingDeps {
  db: Executor;
  clock: Clock;
  logger: Logger;
  ledger: LedgerService;
  config: Pick<Config, 'depository'>;
}

const MAX_REQ_DATA = 8192;
/** Who the audit log names for what the bank told us. */
const BANK = { kind: 'bank', id: 'depository' };

/** The ledger transfer of an incoming transfer: derived from the bank's number, so a duplicate moves nothing. */
export function fundingTransferId(transferNo: string): string {
  return `funding:${transferNo}`;
}

export function transferInView(t: TransferIn) {
  return {
    transferNo: t.transferNo,
    status: t.status,
    merchantId: t.merchantId,
    payeeAccountNo: t.payeeAccountNo,
    accountId: t.accountId,
    amount: formatMinor(t.amountMinor, t.currency),
    currency: t.currency,
    payerName: t.payerName,
    bankTimestamp: t.bankTimestamp,
    ledgerTransferId: t.ledgerTransferId,
    createdAt: t.createdAt.toISOString(),
    postedAt: t.postedAt ? t.postedAt.toISOString() : null,
  };
}

/**
 * Funding a merchant's settlement account by bank transfer (issue 4 item 1;
 * protocol in src/protocol/transfer-in.ts). The bank's TRANSFER_IN
 * notification is verified before anything is believed; the transfer is
 * recorded (with its audit entry) once per transfer number, then its ledger
 * transfer BANK_CLEARING -> settlement account (or SUSPENSE when the payee
 * account is no merchant's settlement account) is posted under an id derived
 * from the transfer number. OK is answered only after that, so a crash in
 * between is finished by the bank's retry; a duplicate moves nothing.
 */
export class FundingService {
  private readonly bankKey: BankPublicKey;

  constructor(private readonly deps: FundingDeps) {
    this.bankKey = new BankPublicKey(deps.config.depository.bankPublicKeyPath, deps.logger);
  }

  /** GET /channel/transfer-in-notifications: 4xx and nothing changed unless it is the bank's, well formed and consistent. */
  async receiveNotification(query: { serviceName?: unknown; platformNo?: unknown; signature?: unknown; reqData?: unknown }): Promise<TransferIn> {
    const { reqData } = this.bankKey.verifiedNotification(query, {
      serviceNames: [TRANSFER_IN_NOTIFICATION],
      platformNo: this.deps.config.depository.platformNo,
      malformedCode: 'MALFORMED_NOTIFICATION',
      maxReqDataLength: MAX_REQ_DATA,
    });
    const data = parseTransferIn(reqData);
    if (typeof data === 'string') throw new DomainError('MALFORMED_NOTIFICATION', data);
    return this.receive(data, reqData);
  }

  private async receive(data: TransferInData, reqData: string): Promise<TransferIn> {
    let currency: CurrencyCode;
    let amountMinor: bigint;
    try {
      currency = currencyCode(data.currency);
      amountMinor = parseMoney(data.amount, currency).amountMinor;
    } catch (err) {
      throw new DomainError('MALFORMED_NOTIFICATION', `amount and currency: ${(err as Error).message}`);
    }
    const existing = await repo.findTransferIn(this.deps.db, data.transferNo);
    const recorded = existing ?? (await this.record(data, currency, amountMinor, reqData));
    if (recorded.amountMinor !== amountMinor || recorded.currency !== currency || recorded.payeeAccountNo !== data.payeeAccountNo) {
      throw new DomainError('NOTIFICATION_MISMATCH', `Transfer ${data.transferNo} was notified before with another amount, currency or payee`);
    }
    return this.post(recorded);
  }

  /** Decides where the money goes and records it with its audit entry; a concurrent duplicate finds the first row. */
  private async record(data: TransferInData, currency: CurrencyCode, amountMinor: bigint, reqData: string): Promise<TransferIn> {
    const payee = await this.settlementAccountNamed(data.payeeAccountNo, currency);
    const accountId = payee?.id ?? (await this.deps.ledger.platformAccountId('SUSPENSE', currency));
    const now = this.deps.clock.now();
    const transfer: TransferIn = {
      transferNo: data.transferNo,
      status: payee ? 'CREDITED' : 'UNMATCHED',
      merchantId: payee?.ownerId ?? null,
      payeeAccountNo: data.payeeAccountNo,
      accountId,
      amountMinor,
      currency,
      payerName: data.payerName,
      bankTimestamp: data.timestamp,
      ledgerTransferId: fundingTransferId(data.transferNo),
      createdAt: now,
      postedAt: null,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.insertTransferIn(trx, transfer, reqData))) return;
      const after = transferInView(transfer) as unknown as JsonValue;
      await recordAudit(
        trx,
        payee
          ? { principal: BANK, action: 'merchant.funding', subject: { kind: 'merchant', id: payee.ownerId }, before: null, after }
          : { principal: BANK, action: 'transfer_in.unmatched', subject: { kind: 'transfer_in', id: transfer.transferNo }, before: null, after },
        now,
      );
    });
    if (!payee) this.deps.logger.warn({ transferNo: data.transferNo, payeeAccountNo: data.payeeAccountNo }, 'incoming transfer names no settlement account: held in suspense');
    return (await repo.findTransferIn(this.deps.db, data.transferNo))!;
  }

  /** A merchant's open settlement account in this currency with that number, if the payer named one. */
  private async settlementAccountNamed(accountNo: string, currency: CurrencyCode): Promise<Account | undefined> {
    const account = await this.deps.ledger.findAccountByNo(accountNo);
    const matches = account?.ownerKind === 'MERCHANT' && account.type === 'MERCHANT_SETTLEMENT' && account.currency === currency && account.status !== 'CLOSED';
    return matches ? account : undefined;
  }

  /** Posts the recorded transfer's ledger transfer (idempotent by its id) and stamps it. */
  private async post(t: TransferIn): Promise<TransferIn> {
    if (t.postedAt) return t;
    await this.deps.ledger.transfer({
      id: t.ledgerTransferId,
      debitAccountId: await this.deps.ledger.platformAccountId('BANK_CLEARING', t.currency),
      creditAccountId: t.accountId as AccountId,
      amountMinor: t.amountMinor,
      currency: t.currency,
      code: 'funding',
      reference: t.transferNo,
      metadata: { transferNo: t.transferNo, payerName: t.payerName, payeeAccountNo: t.payeeAccountNo, merchantId: t.merchantId },
    });
    const now = this.deps.clock.now();
    await repo.markPosted(this.deps.db, t.transferNo, now);
    this.deps.logger.info({ transferNo: t.transferNo, status: t.status, merchantId: t.merchantId }, 'incoming transfer credited');
    return { ...t, postedAt: now };
  }

  async list(query: { status?: string | undefined; merchantId?: string | undefined; limit?: number | undefined; startingAfter?: string | undefined }): Promise<Page<TransferIn>> {
    if (query.status !== undefined && !(transferInStatuses as readonly string[]).includes(query.status)) {
      throw new DomainError('VALIDATION_FAILED', `status must be one of ${transferInStatuses.join(', ')}`);
    }
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const rows = await repo.listTransfersIn(this.deps.db, { ...query, status: query.status as TransferInStatus | undefined }, limit + 1);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }
}

import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import type { Config } from '../../platform/config.ts';
import { DomainError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/log.ts';
import { currencyCode, formatMinor, parseMoney } from '../../platform/money/index.ts';
import { Batcher, type BatcherOptions, type ItemResult } from '../../platform/batcher.ts';
import { publishMany } from '../../platform/outbox/index.ts';
import { BankPublicKey } from '../../platform/bank-key.ts';
import { parseJsonOrUndefined } from '../../platform/json.ts';
import {
  type BankResultData,
  ensureKeyPair,
  type GatewayRequest,
  type KeyPair,
  type PlatformRequestData,
  QUERY_TRANSACTION,
  type QueryRequestData,
  UNBIND_CARD,
  type UnbindCardData,
  type UnbindCardResultData,
  type ServiceName,
  serviceNames,
  signText,
  verifyText,
} from '../../protocol/depository.ts';
import * as repo from './depository.repository.ts';
import {
  assertTransition,
  DEPOSITORY_SETTLED,
  type DepositorySettledEvent,
  type DepositoryTransaction,
  type PrepareInput,
} from './depository.types.ts';
import { crashPoint } from '../../platform/faults.ts';

export interface DepositoryDeps {
  db: repo.Executor;
  clock: Clock;
  config: Pick<Config, 'publicUrl' | 'bankPublicUrl' | 'depository'>;
  logger: Logger;
  /** Called after a settlement commits, e.g. to wake the outbox relay. */
  onSettled?: () => void;
  /** Bank results settled in one transaction, and such transactions at once (1 on the embedded store). */
  settleBatching?: BatcherOptions;
  /** Server-to-server HTTP (tests may replace it). */
  fetch?: typeof fetch;
}

/** What a bank message did to its record. */
export type SettleOutcome =
  | { outcome: 'settled'; record: DepositoryTransaction }
  /** Already final with the same result: nothing changed (duplicates and late retries are normal). */
  | { outcome: 'duplicate'; record: DepositoryTransaction }
  /** Already final with the other result: nothing changed, the first word stands, an error is logged. */
  | { outcome: 'contradicted'; record: DepositoryTransaction };

/** Query answers that carry no result yet. */
const NO_RESULT_YET = ['PENDING', 'NOT_FOUND'];
const QUERY_TIMEOUT_MS = 5_000;
const QUERY_BATCH = 20;
const MAX_QUERY_DELAY_MS = 60 * 60_000;
const MAX_FIELD = 256;

/**
 * The depository agent (seed 000's 存管代理): the only part of Coffer that talks
 * to the bank. It owns the transaction records and the platform's keys, signs
 * what goes out, believes only what the bank signed, and announces each
 * settlement once on the outbox (DEPOSITORY_SETTLED) for the user center.
 */
export class DepositoryAgent {
  private readonly platformKeys: KeyPair;
  private readonly bankKey: BankPublicKey;
  private readonly fetch: typeof fetch;
  private readonly settler: Batcher<BankResult, SettleOutcome>;

  constructor(private readonly deps: DepositoryDeps) {
    this.settler = new Batcher((results) => this.settleBatch(results), deps.settleBatching ?? { maxBatch: 200, concurrency: 1 });
    // On first start this generates the platform's pair (private key 0600).
    this.platformKeys = ensureKeyPair(deps.config.depository.keysDir, 'platform');
    this.bankKey = new BankPublicKey(deps.config.depository.bankPublicKeyPath, deps.logger);
    this.fetch = deps.fetch ?? fetch;
  }

  /** Where the bank (and operators) find the platform's public key. */
  get platformPublicKeyPath(): string {
    return this.platformKeys.publicKeyPath;
  }

  /**
   * Phase 1: saves a PENDING, unsynced record and returns the signed request the
   * browser posts to the bank. Pass the caller's transaction as `executor` so the
   * record commits together with the caller's own.
   */
  async prepare(serviceName: ServiceName, input: PrepareInput, executor: repo.Executor = this.deps.db): Promise<GatewayRequest> {
    if (!serviceNames.includes(serviceName)) throw new DomainError('UNKNOWN_SERVICE', `Unknown service ${String(serviceName)}`);
    const { config, clock } = this.deps;
    const currency = currencyCode(input.currency);
    const callbackUrl = validCallbackUrl(input.callbackUrl);
    const userNo = boundedText(input.userNo, 'userNo');
    // PERSONAL_REGISTER and BIND_CARD move no money: their records have no amount.
    const moves = serviceName === 'RECHARGE' || serviceName === 'WITHDRAW';
    if (moves && (input.amountMinor === undefined || input.amountMinor <= 0n)) {
      throw new DomainError('INVALID_AMOUNT', `${serviceName} needs an amount greater than zero`);
    }
    if (input.feeMinor !== undefined && input.feeMinor < 0n) throw new DomainError('INVALID_AMOUNT', 'A fee cannot be negative');
    // WITHDRAW: `amount` leaves the virtual account and `fee` is kept back from what reaches the card.
    if (serviceName === 'WITHDRAW' && (input.feeMinor ?? 0n) >= input.amountMinor!) {
      throw new DomainError('INVALID_AMOUNT', 'A withdrawal fee must be less than the amount');
    }
    const requestNo = input.requestNo ?? newRequestNo(clock.now());
    if (!REQUEST_NO.test(requestNo)) throw new DomainError('VALIDATION_FAILED', 'requestNo must be 1-64 letters and digits');
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + config.depository.requestTtlS * 1000);
    const data: PlatformRequestData = {
      requestNo,
      userNo,
      notifyUrl: `${config.publicUrl}/gateway`,
      callbackUrl,
      timestamp: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      ...(moves ? { amount: formatMinor(input.amountMinor!, currency), currency } : {}),
      ...(serviceName === 'WITHDRAW' ? { fee: formatMinor(input.feeMinor ?? 0n, currency) } : {}),
      ...(input.cardNumberMasked !== undefined ? { cardNumberMasked: boundedText(input.cardNumberMasked, 'cardNumberMasked') } : {}),
      ...(input.mobile !== undefined ? { mobile: boundedText(input.mobile, 'mobile') } : {}),
    };
    const reqData = JSON.stringify(data);
    try {
      await repo.insertTransaction(executor, {
        requestNo,
        serviceName,
        userNo,
        amountMinor: moves ? input.amountMinor! : null,
        feeMinor: serviceName === 'WITHDRAW' ? (input.feeMinor ?? 0n) : null,
        currency,
        cardNumberMasked: input.cardNumberMasked ?? null,
        requestData: reqData,
        nextQueryAt: new Date(now.getTime() + config.depository.queryAfterS * 1000),
        expiresAt,
        now,
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw new DomainError('DUPLICATE_REQUEST', `Request number ${requestNo} was already used`);
      }
      throw err;
    }
    return this.gatewayRequest(serviceName, reqData);
  }

  /**
   * The signed request prepare() answered for `requestNo`, again: the same
   * reqData, signed anew. For a retry whose first answer was lost; the bank
   * takes a request number once, whatever happened to it since. Undefined
   * when no request of that number was prepared.
   */
  async reissue(requestNo: string): Promise<GatewayRequest | undefined> {
    const record = await repo.findTransaction(this.deps.db, requestNo);
    return record && this.gatewayRequest(record.serviceName, record.requestData);
  }

  /**
   * The user's newest `serviceName` request prepared since `since`, signed anew,
   * while the bank still takes it (PENDING, not expired). For a retry of a
   * request that died after preparing one: the user gets the same form.
   */
  async reissueNewest(serviceName: ServiceName, userNo: string, since: Date): Promise<GatewayRequest | undefined> {
    const record = await repo.findNewestOpenRequest(this.deps.db, { serviceName, userNo, since, now: this.deps.clock.now() });
    return record && this.gatewayRequest(record.serviceName, record.requestData);
  }

  private gatewayRequest(serviceName: ServiceName, reqData: string): GatewayRequest {
    const { platformNo } = this.deps.config.depository;
    return { serviceName, platformNo, reqData, signature: signText(reqData, this.platformKeys.privateKey), depositoryUrl: `${this.deps.config.bankPublicUrl}/gateway` };
  }

  findTransaction(requestNo: string): Promise<DepositoryTransaction | undefined> {
    return repo.findTransaction(this.deps.db, requestNo);
  }

  /** Records by request number (unknown numbers are left out). */
  findTransactions(requestNos: string[]): Promise<DepositoryTransaction[]> {
    return repo.findTransactions(this.deps.db, requestNos);
  }

  /** Recharges and withdrawals that became final in [from, to): what the bank's daily statement should list too. */
  finalMoneyTransactionsBetween(from: Date, to: Date): Promise<DepositoryTransaction[]> {
    return repo.finalMoneyTransactionsBetween(this.deps.db, from, to);
  }

  /**
   * Phase 3, GET /gateway: the bank's signed notification. Throws a DomainError
   * (a 4xx, nothing changed) for anything Coffer cannot believe or match.
   */
  async receiveNotification(query: { serviceName?: unknown; platformNo?: unknown; signature?: unknown; reqData?: unknown }): Promise<SettleOutcome> {
    const { serviceName, reqData } = this.bankKey.verifiedNotification(query, {
      serviceNames,
      platformNo: this.deps.config.depository.platformNo,
      malformedCode: 'MALFORMED_NOTIFICATION',
    });
    crashPoint('depository.notification-received');
    return this.acceptBankResult(serviceName as ServiceName, reqData, 'notification');
  }

  /**
   * The one path by which a bank result (notification or query answer, already
   * verified) settles a record: parse, then hand it to the settler, which
   * matches it against its record and moves PENDING -> SUCCEEDED | FAILED with
   * the DEPOSITORY_SETTLED event, in one transaction shared with whatever other
   * results arrived at the same moment (group commit).
   */
  private async acceptBankResult(serviceName: ServiceName, reqData: string, source: BankResult['source']): Promise<SettleOutcome> {
    const result = parseBankResult(reqData);
    if (result.serviceName !== undefined && result.serviceName !== serviceName) {
      throw new DomainError('NOTIFICATION_MISMATCH', `reqData is for ${String(result.serviceName)}, not ${serviceName}`);
    }
    // A card binding that succeeded must say which card: without it there is nothing to bind.
    if (serviceName === 'BIND_CARD' && result.status === 'SUCCESS' && textOrNull(result.cardNumberMasked) === null) {
      throw new DomainError('MALFORMED_NOTIFICATION', 'reqData.cardNumberMasked is required for a successful BIND_CARD');
    }
    const outcome = await this.settler.submit({ serviceName, reqData, result, source });
    if (outcome.outcome === 'settled') {
      this.deps.logger.info({ requestNo: outcome.record.requestNo, serviceName, status: outcome.record.status, source }, 'depository transaction settled');
    }
    return outcome;
  }

  private async settleBatch(results: BankResult[]): Promise<ItemResult<SettleOutcome>[]> {
    const records = new Map((await repo.findTransactions(this.deps.db, [...new Set(results.map((r) => r.result.requestNo))])).map((r) => [r.requestNo, r]));
    const answers: (ItemResult<SettleOutcome> | undefined)[] = results.map((item) => {
      const record = records.get(item.result.requestNo);
      if (!record) return failure(new DomainError('DEPOSITORY_REQUEST_NOT_FOUND', `No transaction has request number ${item.result.requestNo}`));
      const mismatch = mismatchOf(record, item.serviceName, item.result);
      if (mismatch) return failure(new DomainError('NOTIFICATION_MISMATCH', mismatch));
      if (record.status !== 'PENDING') return { ok: true, value: this.alreadyFinal(record, statusOf(item), item.source) };
      return undefined; // to settle below
    });

    // The first result per request number settles it; a second one in the same batch is then a replay.
    const settling = new Map<string, BankResult>();
    results.forEach((item, i) => {
      if (answers[i] === undefined && !settling.has(item.result.requestNo)) settling.set(item.result.requestNo, item);
    });
    const settled = settling.size > 0 ? await this.settleTogether([...settling.values()]) : new Map<string, DepositoryTransaction>();
    if (settled.size > 0) this.deps.onSettled?.();
    if (settled.size > 0) crashPoint('depository.after-settle-commit');

    // A lost race (another process settled it first) answers from the record as it is now.
    const lostRaces = [...settling.keys()].filter((requestNo) => !settled.has(requestNo));
    const current = new Map((await repo.findTransactions(this.deps.db, lostRaces)).map((r) => [r.requestNo, r]));
    return results.map((item, i) => {
      const answer = answers[i];
      if (answer) return answer;
      const requestNo = item.result.requestNo;
      const record = settled.get(requestNo);
      if (record && settling.get(requestNo) === item) return { ok: true, value: { outcome: 'settled', record } };
      return { ok: true, value: this.alreadyFinal(record ?? current.get(requestNo)!, statusOf(item), item.source) };
    });
  }

  /** PENDING -> the result, with each one's DEPOSITORY_SETTLED event, in one transaction; answers the records that moved. */
  private async settleTogether(results: BankResult[]): Promise<Map<string, DepositoryTransaction>> {
    const now = this.deps.clock.now();
    const byRequestNo = new Map(results.map((item) => [item.result.requestNo, item]));
    return this.deps.db.transaction().execute(async (trx) => {
      const rows = await repo.settlePending(
        trx,
        results.map((item) => ({
          requestNo: item.result.requestNo,
          status: assertedNext(statusOf(item)),
          resultData: item.reqData,
          errorCode: errorCodeOf(item),
        })),
        now,
      );
      await publishMany(trx, rows.map((row) => ({ topic: DEPOSITORY_SETTLED, key: row.requestNo, payload: settledEvent(row, byRequestNo.get(row.requestNo)!, now) })));
      return new Map(rows.map((row) => [row.requestNo, row]));
    });
  }

  private alreadyFinal(record: DepositoryTransaction, wanted: 'SUCCEEDED' | 'FAILED', source: string): SettleOutcome {
    if (record.status === wanted) return { outcome: 'duplicate', record };
    this.deps.logger.error(
      { requestNo: record.requestNo, recorded: record.status, received: wanted, source },
      'the bank contradicted a settled depository transaction; the first result stands',
    );
    return { outcome: 'contradicted', record };
  }

  /**
   * The status-query job: asks the bank about records still PENDING after
   * DEPOSITORY_QUERY_AFTER_S and settles them from its signed answer. A bank that
   * is down or slow is logged; the record is asked again later (backing off).
   */
  async queryDue(): Promise<number> {
    const { config, clock } = this.deps;
    const due = await repo.claimDueQueries(this.deps.db, {
      now: clock.now(),
      limit: QUERY_BATCH,
      baseDelayMs: config.depository.queryIntervalMs,
      maxDelayMs: Math.max(config.depository.queryIntervalMs, MAX_QUERY_DELAY_MS),
      expiryGraceMs: config.depository.expiryGraceS * 1000,
    });
    let settled = 0;
    for (const record of due) {
      try {
        const outcome = await this.queryOne(record);
        if (outcome?.outcome === 'settled') settled += 1;
      } catch (err) {
        this.deps.logger.warn({ err, requestNo: record.requestNo }, 'depository status query failed; will ask again');
      }
    }
    return settled;
  }

  /**
   * A signed server-to-server call to the bank's POST /service; answers the
   * bank-signed reqData text of its answer. Throws (a plain Error) when the bank
   * is down, slow, refuses, or answers something it did not sign.
   */
  private async callBankService(serviceName: string, data: object): Promise<string> {
    const { config } = this.deps;
    const reqData = JSON.stringify(data);
    const response = await this.fetch(`${config.depository.bankUrl}/service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        serviceName,
        platformNo: config.depository.platformNo,
        reqData,
        signature: signText(reqData, this.platformKeys.privateKey),
      }),
      signal: AbortSignal.timeout(QUERY_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`bank answered ${response.status}: ${text.slice(0, 200)}`);
    let answer: { reqData?: unknown; signature?: unknown };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new Error('bank answered something that is not JSON');
    }
    if (typeof answer?.reqData !== 'string' || !verifyText(answer.reqData, answer.signature as string, this.bankKey.get())) {
      throw new Error(`bank ${serviceName} answer is not signed by the bank`);
    }
    return answer.reqData;
  }

  /**
   * Tells the bank that the user removed a bound card on the platform (signed
   * UNBIND_CARD, server to server), so the bank stops using it and the user may
   * bind it again later. Idempotent: the bank answers NOT_BOUND for a card it no
   * longer holds for the user. Throws while the bank cannot be reached, so the
   * outbox consumer that calls this retries it.
   */
  async unbindCard(input: { userNo: string; cardNumberMasked: string }): Promise<UnbindCardResultData['status']> {
    const data: UnbindCardData = {
      requestNo: newRequestNo(this.deps.clock.now()),
      userNo: boundedText(input.userNo, 'userNo'),
      cardNumberMasked: boundedText(input.cardNumberMasked, 'cardNumberMasked'),
      timestamp: this.deps.clock.now().toISOString(),
    };
    const answer = parseJsonOrUndefined(await this.callBankService(UNBIND_CARD, data)) as Partial<UnbindCardResultData> | undefined;
    if (answer?.requestNo !== data.requestNo || (answer.status !== 'UNBOUND' && answer.status !== 'NOT_BOUND')) {
      throw new Error('bank UNBIND_CARD answer is about another request or has no status');
    }
    this.deps.logger.info({ requestNo: data.requestNo, userNo: data.userNo, status: answer.status }, 'bound card removed at the bank');
    return answer.status;
  }

  private async queryOne(record: DepositoryTransaction): Promise<SettleOutcome | undefined> {
    const data: QueryRequestData = { requestNo: record.requestNo, timestamp: this.deps.clock.now().toISOString() };
    const answer = { reqData: await this.callBankService(QUERY_TRANSACTION, data) };
    const peek = parseJsonOrUndefined(answer.reqData) as { requestNo?: unknown; status?: unknown } | undefined;
    if (peek?.requestNo !== record.requestNo) throw new Error('bank query answer is about another request');
    if (peek.status === 'NOT_FOUND' && this.expired(record)) return this.settleExpired(record, answer.reqData);
    if (typeof peek.status === 'string' && NO_RESULT_YET.includes(peek.status)) {
      this.deps.logger.debug({ requestNo: record.requestNo, status: peek.status }, 'bank has no result yet');
      return undefined;
    }
    return this.acceptBankResult(record.serviceName, answer.reqData, 'query');
  }

  private expired(record: DepositoryTransaction): boolean {
    const graceMs = this.deps.config.depository.expiryGraceS * 1000;
    return record.expiresAt !== null && this.deps.clock.now().getTime() > record.expiresAt.getTime() + graceMs;
  }

  /**
   * The bank refuses a request after its `expiresAt`, so a bank that, after
   * that, signs that it never had the request has closed it for good: the
   * record fails as REQUEST_EXPIRED (a withdrawal's hold is then released),
   * keeping the bank's signed answer as its result.
   */
  private async settleExpired(record: DepositoryTransaction, bankAnswer: string): Promise<SettleOutcome> {
    const currency = currencyCode(record.currency);
    const outcome = await this.settler.submit({
      serviceName: record.serviceName,
      reqData: bankAnswer,
      source: 'expiry',
      result: {
        requestNo: record.requestNo,
        userNo: record.userNo,
        timestamp: this.deps.clock.now().toISOString(),
        status: 'FAIL',
        errorCode: 'REQUEST_EXPIRED',
        errorMessage: 'The request expired before the bank received it',
        currency: record.currency,
        ...(record.amountMinor !== null ? { amount: formatMinor(record.amountMinor, currency) } : {}),
      },
    });
    this.deps.logger.info({ requestNo: record.requestNo, outcome: outcome.outcome }, 'depository request expired unseen by the bank');
    return outcome;
  }
}

const REQUEST_NO = /^[A-Za-z0-9]{1,64}$/;

/** 'REQ' + UTC time to the millisecond + 12 random hex digits: unique, sortable, readable in logs. */
export function newRequestNo(now: Date = new Date()): string {
  const time = now.toISOString().replace(/\D/g, '').slice(0, 17);
  return `REQ${time}${randomBytes(6).toString('hex').toUpperCase()}`;
}

/** An absolute http(s) URL of at most 2048 characters, or VALIDATION_FAILED. */
export function validCallbackUrl(value: unknown): string {
  if (typeof value === 'string' && value.length <= 2048) {
    try {
      const url = new URL(value);
      if (url.protocol === 'https:' || url.protocol === 'http:') return value;
    } catch {
      // falls through
    }
  }
  throw new DomainError('VALIDATION_FAILED', 'callbackUrl must be an absolute http(s) URL of at most 2048 characters');
}

function boundedText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be 1-${MAX_FIELD} characters`);
  }
  return value;
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_FIELD) : null;
}


type ParsedResult = Omit<BankResultData, 'serviceName'> & { serviceName?: unknown };

function parseBankResult(reqData: string): ParsedResult {
  const data = parseJsonOrUndefined(reqData) as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DomainError('MALFORMED_NOTIFICATION', 'reqData is not a JSON object');
  }
  for (const field of ['requestNo', 'userNo', 'timestamp'] as const) {
    if (typeof data[field] !== 'string' || (data[field] as string).length === 0 || (data[field] as string).length > MAX_FIELD) {
      throw new DomainError('MALFORMED_NOTIFICATION', `reqData.${field} must be a non-empty string`);
    }
  }
  if (data.status !== 'SUCCESS' && data.status !== 'FAIL') {
    throw new DomainError('MALFORMED_NOTIFICATION', 'reqData.status must be SUCCESS or FAIL');
  }
  return data as unknown as ParsedResult;
}

/** Why a bank result cannot be about this record, or undefined when it matches. */
function mismatchOf(record: DepositoryTransaction, serviceName: ServiceName, result: ParsedResult): string | undefined {
  if (record.serviceName !== serviceName) return `request ${record.requestNo} is a ${record.serviceName}, not a ${serviceName}`;
  if (record.userNo !== result.userNo) return `request ${record.requestNo} belongs to another user`;
  if (result.currency !== undefined && result.currency !== record.currency) {
    return `request ${record.requestNo} is in ${record.currency}, not ${String(result.currency)}`;
  }
  if (record.amountMinor !== null) {
    let amountMinor: bigint | undefined;
    try {
      amountMinor = parseMoney(result.amount, currencyCode(record.currency)).amountMinor;
    } catch {
      amountMinor = undefined;
    }
    if (amountMinor !== record.amountMinor) {
      return `the amount ${JSON.stringify(result.amount)} is not the amount of request ${record.requestNo}`;
    }
  }
  return undefined;
}

/** A verified bank result on its way to the settler. */
interface BankResult {
  serviceName: ServiceName;
  reqData: string;
  result: ParsedResult;
  /** 'expiry': the bank signed, after the request expired, that it never had it. */
  source: 'notification' | 'query' | 'expiry';
}

function statusOf(item: BankResult): 'SUCCEEDED' | 'FAILED' {
  return item.result.status === 'SUCCESS' ? 'SUCCEEDED' : 'FAILED';
}

function assertedNext(next: 'SUCCEEDED' | 'FAILED'): 'SUCCEEDED' | 'FAILED' {
  assertTransition('PENDING', next);
  return next;
}

function errorCodeOf(item: BankResult): string | null {
  return statusOf(item) === 'FAILED' ? (textOrNull(item.result.errorCode) ?? 'FAILED') : null;
}

function settledEvent(record: DepositoryTransaction, item: BankResult, now: Date): DepositorySettledEvent {
  const currency = currencyCode(record.currency);
  return {
    requestNo: record.requestNo,
    serviceName: record.serviceName,
    userNo: record.userNo,
    status: statusOf(item),
    amount: record.amountMinor === null ? null : formatMinor(record.amountMinor, currency),
    fee: record.feeMinor === null ? null : formatMinor(record.feeMinor, currency),
    currency: record.currency,
    errorCode: record.errorCode,
    errorMessage: textOrNull(item.result.errorMessage),
    cardNumberMasked: textOrNull(item.result.cardNumberMasked) ?? record.cardNumberMasked,
    bankCode: textOrNull(item.result.bankCode),
    settledAt: now.toISOString(),
  };
}

function failure(error: DomainError): ItemResult<never> {
  return { ok: false, error };
}

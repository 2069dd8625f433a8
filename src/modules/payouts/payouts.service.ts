import { Batcher, type BatcherOptions, type ItemResult } from '../../platform/batcher.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Config } from '../../platform/config.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { currencyCode, formatMinor, parseMoney } from '../../platform/money/index.ts';
import { outboxRows, publish, type OutboxMessage } from '../../platform/outbox/index.ts';
import { BankPublicKey } from '../../platform/bank-key.ts';
import { parseJsonOrUndefined } from '../../platform/json.ts';
import { ensureKeyPair, type KeyPair, signTextOffThread, verifyText } from '../../protocol/depository.ts';
import {
  channelPayoutStatuses,
  PAYOUT_NOTIFICATION,
  type PayoutOrderData,
  type PayoutResultData,
  QUERY_PAYOUT,
  type QueryPayoutData,
} from '../../protocol/payout-channel.ts';
import type { AccountId, LedgerService, Page, TransferRequest } from '../ledger/index.ts';
import type { MerchantsService } from '../merchants/index.ts';
import { assertNotRejected, type RiskReviewedEvent, type RiskService } from '../risk/index.ts';
import * as repo from './payouts.repository.ts';
import {
  assertTransition,
  type ListFilter,
  PAYOUT_ACCEPTED,
  PAYOUT_FINAL,
  type Payout,
  type PayoutId,
  type PayoutInput,
  type PayoutOrigin,
  type PayoutStatus,
  SINGLE,
  type ValidPayoutInput,
  payoutStatuses,
  type ResultOutcome,
} from './payouts.types.ts';
import { crashPoint } from '../../platform/faults.ts';

export interface PayoutsDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  ledger: LedgerService;
  merchants: Pick<MerchantsService, 'assertCanUse' | 'feeFor' | 'settlementAccount'>;
  risk: Pick<RiskService, 'assess' | 'release'>;
  config: Pick<Config, 'publicUrl' | 'depository' | 'payouts'>;
  /** Called after a final status commits (wakes the outbox relay). */
  onFinal?: () => void;
  /** Server-to-server HTTP (tests may replace it). */
  fetch?: typeof fetch;
  /** Open holds the orphan sweeper looks at per run (default 200). */
  sweepPageSize?: number;
  /**
   * Group commit of acceptances: the duplicate reads of one moment share a
   * statement, their records and events a transaction (default: up to 200 at
   * once, one group at a time).
   */
  batching?: BatcherOptions;
}

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;
const JOB_BATCH = 20;
const QUERY_TIMEOUT_MS = 5_000;
const MAX_DELAY_MS = 60 * 60_000;
const ORDER_NO = /^[A-Za-z0-9_\-.:]{1,64}$/;
const MAX_FIELD = 256;
const MAX_REMEMBERED_ACCOUNTS = 100_000;
/**
 * The lease `claimDispatch` or `claimQueries` took on a payout now claimed for the
 * `attempts`-th time: no other process claims it for this long.
 */
function leaseMs(backoff: { baseDelayMs: number; maxDelayMs: number }, attempts: number): number {
  return Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.min(attempts - 1, 20));
}

/** Orders to the bank out at once, per process (the rest wait for a later claim). */
const MAX_ORDERS_IN_FLIGHT = 256;

/** Where a payout stands, as the merchant API shows it. */
export interface PayoutView {
  id: string;
  status: PayoutStatus;
  merchantOrderNo: string;
  amount: string;
  fee: string;
  currency: string;
  beneficiary: { name: string; accountNo: string; bankCode: string };
  remark: string | null;
  riskLevel: string;
  reviewPending: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  channelRef: string | null;
  created: string;
  updated: string;
}

export function payoutView(p: Payout): PayoutView {
  return {
    id: p.id,
    status: p.status,
    merchantOrderNo: p.merchantOrderNo,
    amount: formatMinor(p.amountMinor, p.currency),
    fee: formatMinor(p.feeMinor, p.currency),
    currency: p.currency,
    beneficiary: { name: p.beneficiaryName, accountNo: p.beneficiaryAccountNo, bankCode: p.beneficiaryBankCode },
    remark: p.remark,
    riskLevel: p.riskLevel,
    reviewPending: p.reviewPending,
    errorCode: p.errorCode,
    errorMessage: p.errorMessage,
    channelRef: p.channelRef,
    created: p.createdAt.toISOString(),
    updated: p.updatedAt.toISOString(),
  };
}

type Part = 'amount' | 'fee';

/** Ledger ids derived from the payout id: the same call twice moves money once. */
export const ledgerIds = {
  hold: (id: string, part: Part) => `payout:${id}:${part}`,
  post: (id: string, part: Part) => `payout:${id}:${part}:post`,
  void: (id: string, part: Part) => `payout:${id}:${part}:void`,
  reversal: (id: string, part: Part) => `payout:${id}:reversal:${part}`,
};

function partsOf(feeMinor: bigint): Part[] {
  // The amount hold comes first: whichever result wins it owns the payout's money (see README).
  return feeMinor > 0n ? ['amount', 'fee'] : ['amount'];
}

/**
 * Single merchant payouts (SPEC 5): acceptance (permission, duplicate, risk,
 * fee, hold, record), dispatch through the bank's payout channel, and one path
 * (`applyResult`) by which every bank answer — order answer, notification,
 * query answer — moves a payout and its money.
 */
export class PayoutsService {
  private readonly platformKeys: KeyPair;
  private readonly bankKey: BankPublicKey;
  private readonly fetch: typeof fetch;
  private readonly inflight = new Set<Promise<unknown>>();
  private ordersInFlight = 0;
  private waking = false;
  private wakeAgain = false;
  private stopped = false;
  /** Aborts calls to the bank on shutdown: an aborted order is an unknown outcome, queried after a restart. */
  private readonly shutdown = new AbortController();
  /** Where the orphan sweeper goes on from (the last hold of its previous page). */
  private sweepAfter: { createdAt: Date; id: string } | undefined;
  private readonly sweepPageSize: number;
  private readonly settlementAccountIds = new Map<string, AccountId>();
  private signing: Promise<unknown> = Promise.resolve();
  private readonly orderReader: Batcher<OrderKey, Payout | undefined>;
  private readonly recorder: Batcher<Payout, boolean>;

  constructor(private readonly deps: PayoutsDeps) {
    // The same key pair the depository agent signs with: the bank knows one platform key.
    this.platformKeys = ensureKeyPair(deps.config.depository.keysDir, 'platform');
    this.bankKey = new BankPublicKey(deps.config.depository.bankPublicKeyPath, deps.logger);
    this.fetch = deps.fetch ?? fetch;
    this.sweepPageSize = deps.sweepPageSize ?? 200;
    const batching = deps.batching ?? { maxBatch: 200, concurrency: 1 };
    this.orderReader = new Batcher(async (keys) => {
      const found = new Map((await repo.findByOrderNos(deps.db, keys)).map((p) => [orderKey(p), p]));
      return keys.map((key) => ({ ok: true, value: found.get(orderKey(key)) }));
    }, batching);
    this.recorder = new Batcher((payouts) => this.recordTogether(payouts), batching);
  }

  // ---- acceptance -----------------------------------------------------------------------------

  /**
   * POST /v1/payouts. In order: validate; the merchant may use the product
   * (with the fee, one fresh read); no payout has this merchantOrderNo; risk
   * (REJECT: refused, the decision stays recorded); amount + fee held (two
   * linked pending transfers keyed on the payout id); the record and its event
   * in one transaction. Anything failing after the hold releases the hold and
   * the risk decision. Each step is shared with the acceptances of the same
   * moment (group commit: the reads, the risk decisions, the ledger batch,
   * the records), so N concurrent requests cost a few transactions, not 3N.
   */
  async accept(merchantId: string, input: PayoutInput, origin: PayoutOrigin = SINGLE): Promise<Payout> {
    const { merchantOrderNo, amountMinor, currency, beneficiary, remark } = validatePayoutInput(input);

    // The reads at once; the permission check's refusal still comes first.
    const [canUse, existing, fee] = await Promise.allSettled([
      this.deps.merchants.assertCanUse(merchantId, origin.product),
      this.orderReader.submit({ merchantId, merchantOrderNo }),
      this.deps.merchants.feeFor(merchantId, origin.product, amountMinor, currency),
    ]);
    if (canUse.status === 'rejected') throw canUse.reason;
    if (existing.status === 'rejected') throw existing.reason;
    if (existing.value) throw duplicateOrder(existing.value);
    if (fee.status === 'rejected') throw fee.reason;
    const feeMinor = fee.value.amountMinor;

    const now = this.deps.clock.now();
    const id = newId('po', now.getTime()) as PayoutId;
    // Outside the record's transaction on purpose: a REJECT must stay recorded.
    const assessment = await this.deps.risk.assess({
      flow: 'PAYOUT',
      subjectKind: 'MERCHANT',
      subjectId: merchantId,
      amountMinor,
      currency,
      beneficiaryAccount: beneficiary.accountNo,
      reference: id,
    });
    assertNotRejected(assessment);

    let settlementAccountId: AccountId;
    try {
      settlementAccountId = await this.settlementAccountId(merchantId, currency);
      await this.deps.ledger.linkedTransfers(await this.holds(id, settlementAccountId, amountMinor, feeMinor, currency, assessment.decisionId));
    } catch (err) {
      await this.releaseDecision(assessment.decisionId, id);
      throw err;
    }

    crashPoint('payouts.after-hold');
    const reviewPending = assessment.level === 'HIGH';
    const payout: Payout = {
      id,
      merchantId,
      merchantOrderNo,
      amountMinor,
      feeMinor,
      currency,
      beneficiaryName: beneficiary.name,
      beneficiaryAccountNo: beneficiary.accountNo,
      beneficiaryBankCode: beneficiary.bankCode,
      remark,
      status: 'ACCEPTED',
      riskDecisionId: assessment.decisionId,
      riskLevel: assessment.level,
      reviewPending,
      settlementAccountId,
      errorCode: null,
      errorMessage: null,
      channelRef: null,
      dispatchAttempts: 0,
      queryAttempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    let saved: boolean;
    try {
      saved = await this.recorder.submit(payout);
    } catch (err) {
      await this.unmakeUnlessSaved(payout);
      throw err;
    }
    if (!saved) {
      // Another request with this merchantOrderNo was saved first (the unique constraint decided) —
      // or this one was: its group's insert committed but the answer was lost, and the group commit
      // ran it again alone, finding its own row. Read before undoing (a failed read undoes nothing:
      // the orphan sweeper voids only holds whose payout does not exist).
      const winner = await repo.findByOrderNo(this.deps.db, merchantId, merchantOrderNo);
      if (winner?.id !== id) {
        await this.unmake(payout);
        if (winner) throw duplicateOrder(winner);
        throw new Error(`payout ${id} was not saved, and no payout has merchantOrderNo ${merchantOrderNo}`);
      }
    }
    crashPoint('payouts.after-accept-commit');
    this.deps.logger.info({ payoutId: id, merchantId, riskLevel: assessment.level }, 'payout accepted');
    if (!reviewPending) this.wake();
    return payout;
  }

  /**
   * The records of a group and their PAYOUT_ACCEPTED events, in one statement (atomic without a
   * transaction: an event exists if and only if its record was inserted); answers whether each was saved.
   */
  private async recordTogether(payouts: Payout[]): Promise<ItemResult<boolean>[]> {
    const saved = await repo.insertPayouts(
      this.deps.db,
      // Sent at once, unless it waits for a risk reviewer.
      payouts.map((p) => ({ ...p, nextDispatchAt: p.reviewPending ? null : p.createdAt })),
      outboxRows(payouts.map((p) => ({ topic: PAYOUT_ACCEPTED, key: p.id, payload: payoutView(p) }))),
    );
    return payouts.map((p) => ({ ok: true, value: saved.has(p.id) }));
  }

  /**
   * The record's insert failed, but its outcome is unknown: a connection lost after the commit
   * fails the call too, and then the payout exists and will be sent, so its holds must stay.
   * Undone only when a fresh read finds no record; when that read fails as well, the orphan
   * sweeper decides later (it voids only holds whose payout does not exist).
   */
  private async unmakeUnlessSaved(payout: Payout): Promise<void> {
    const saved = await repo.findPayoutIds(this.deps.db, [payout.id]).then(
      (ids) => ids.has(payout.id),
      () => undefined,
    );
    if (saved === false) return this.unmake(payout);
    this.deps.logger.warn({ payoutId: payout.id, saved }, saved ? 'payout saved although its insert failed; its holds stay' : 'payout insert failed and its outcome is unknown; left to the orphan sweeper');
  }

  /** A payout that was not saved: nothing may stay held, its risk decision no longer counts. */
  private async unmake(payout: Payout): Promise<void> {
    await this.voidHolds(payout).catch((voidErr: unknown) =>
      this.deps.logger.error({ err: voidErr, payoutId: payout.id }, 'could not release the hold of a payout that was not saved (the sweeper will)'),
    );
    await this.releaseDecision(payout.riskDecisionId, payout.id);
  }

  /** A settlement account's id never changes, so it is remembered once found (in a bounded map). */
  private async settlementAccountId(merchantId: string, currency: Payout['currency']): Promise<AccountId> {
    const key = `${merchantId}:${currency}`;
    const cached = this.settlementAccountIds.get(key);
    if (cached) return cached;
    const id = (await this.deps.merchants.settlementAccount(merchantId, currency)).id;
    if (this.settlementAccountIds.size >= MAX_REMEMBERED_ACCOUNTS) this.settlementAccountIds.clear();
    this.settlementAccountIds.set(key, id);
    return id;
  }

  private async holds(
    id: string,
    settlementAccountId: AccountId,
    amountMinor: bigint,
    feeMinor: bigint,
    currency: Payout['currency'],
    decisionId: string,
  ): Promise<TransferRequest[]> {
    const metadata = { decisionId };
    const holds: TransferRequest[] = [
      {
        id: ledgerIds.hold(id, 'amount'),
        debitAccountId: settlementAccountId,
        creditAccountId: await this.deps.ledger.platformAccountId('PAYOUT_CLEARING', currency),
        amountMinor,
        currency,
        code: 'payout',
        reference: id,
        metadata,
        pending: {},
      },
    ];
    if (feeMinor > 0n) {
      holds.push({
        id: ledgerIds.hold(id, 'fee'),
        debitAccountId: settlementAccountId,
        creditAccountId: await this.deps.ledger.platformAccountId('FEE_INCOME', currency),
        amountMinor: feeMinor,
        currency,
        code: 'fee',
        reference: id,
        metadata,
        pending: {},
      });
    }
    return holds;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** Payouts by id, any merchant (the settlement check); unknown ids are left out. */
  findPayouts(ids: string[]): Promise<Payout[]> {
    return repo.findPayouts(this.deps.db, ids);
  }

  /** Payouts whose latest final status came in [from, to): what the bank's daily statement should list too. */
  finalPayoutsBetween(from: Date, to: Date): Promise<Payout[]> {
    return repo.finalPayoutsBetween(this.deps.db, from, to);
  }

  /** Only the merchant's own: another merchant's id is PAYOUT_NOT_FOUND. */
  async get(merchantId: string, id: string): Promise<Payout> {
    const payout = await repo.findPayout(this.deps.db, id);
    if (!payout || payout.merchantId !== merchantId) throw new DomainError('PAYOUT_NOT_FOUND', `No payout ${id}`);
    return payout;
  }

  /**
   * Which of `orderNos` a payout of the merchant already has (merchantOrderNo -> payout id). `db` lets
   * a caller ask inside its own transaction (the batch upload does: the embedded store has one connection).
   */
  takenOrderNos(merchantId: string, orderNos: readonly string[], db: repo.Executor = this.deps.db): Promise<Map<string, string>> {
    return repo.findOrderNos(db, merchantId, orderNos);
  }

  async list(merchantId: string, filter: ListFilter): Promise<Page<Payout>> {
    if (filter.status !== undefined && !payoutStatuses.includes(filter.status)) {
      throw new DomainError('VALIDATION_FAILED', `status must be one of ${payoutStatuses.join(', ')}`);
    }
    if (filter.startingAfter !== undefined && !/^po_[0-9a-z]{1,60}$/.test(filter.startingAfter)) {
      throw new DomainError('VALIDATION_FAILED', 'startingAfter must be the id of a payout from the previous page');
    }
    const limit = Math.min(Math.max(filter.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const rows = await repo.listPayouts(this.deps.db, merchantId, filter, limit + 1);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  // ---- dispatch -------------------------------------------------------------------------------

  /**
   * The dispatch job: claims ACCEPTED payouts that may be sent (a lease with
   * backoff, FOR UPDATE SKIP LOCKED) and starts each one's order; it does not
   * wait for the bank, so one slow or hanging order never holds up the next
   * payouts. At most MAX_ORDERS_IN_FLIGHT orders are out at once. Answers how
   * many it claimed.
   */
  async dispatchDue(): Promise<number> {
    const { config, clock } = this.deps;
    const room = MAX_ORDERS_IN_FLIGHT - this.ordersInFlight;
    if (this.stopped || room <= 0) return 0;
    const backoff = {
      // The lease must outlast a whole order, or another process could send while one waits.
      baseDelayMs: Math.max(config.payouts.jobIntervalMs, 2 * config.payouts.orderTimeoutMs),
      maxDelayMs: MAX_DELAY_MS,
    };
    const claimedAtMs = performance.now();
    const due = await repo.claimDispatch(this.deps.db, { ...backoff, now: clock.now(), limit: Math.min(JOB_BATCH, room) });
    for (const payout of due) {
      this.ordersInFlight += 1;
      const leaseEndsAtMs = claimedAtMs + leaseMs(backoff, payout.dispatchAttempts);
      this.track(
        this.sendOrder(payout, leaseEndsAtMs)
          .catch((err: unknown) => this.deps.logger.warn({ err, payoutId: payout.id }, 'payout order failed; will try again'))
          .finally(() => (this.ordersInFlight -= 1)),
      );
    }
    return due.length;
  }

  /**
   * Runs the dispatcher now, in the background (after an acceptance or an
   * approved review). Wakes while a run is going are folded into one more run,
   * so a burst of acceptances costs a few claims, not one each.
   */
  private wake(): void {
    if (this.stopped) return;
    if (this.waking) {
      this.wakeAgain = true;
      return;
    }
    this.waking = true;
    this.track(
      (async () => {
        let claimed = 0;
        do {
          this.wakeAgain = false;
          claimed = await this.dispatchDue();
        } while ((this.wakeAgain || claimed === JOB_BATCH) && !this.stopped);
      })()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'payout dispatch failed; the job will try again'))
        .finally(() => (this.waking = false)),
    );
  }

  /**
   * Signs a message to the bank off the event loop, one signature at a time:
   * orders never hold up acceptances, and a burst of them takes at most one
   * core (an RSA-3072 signature is about 2 ms, so dispatch falls behind a
   * burst of acceptances and catches up after it).
   */
  private sign(reqData: string): Promise<string> {
    const signed = this.signing.then(() => signTextOffThread(reqData, this.platformKeys.privateKey));
    this.signing = signed.catch(() => undefined);
    return signed;
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** Resolves when the background work started so far (and whatever it started) has finished. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** On shutdown: no new background work, calls to the bank cut short, the running ones awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.shutdown.abort();
    await this.idle();
  }

  /**
   * Sends one order to the bank (idempotent there by payout id). A refused
   * connection: the order surely never arrived, the payout stays ACCEPTED and
   * is sent again later. A time-out, a lost or unbelievable answer, a 5xx: the
   * outcome is unknown, the payout goes PROCESSING and is queried — never sent
   * elsewhere. A signed answer goes through `applyResult`.
   */
  private async sendOrder(payout: Payout, leaseEndsAtMs: number): Promise<void> {
    const { config } = this.deps;
    const data: PayoutOrderData = {
      payoutId: payout.id,
      amount: formatMinor(payout.amountMinor, payout.currency),
      currency: payout.currency,
      beneficiary: { name: payout.beneficiaryName, accountNo: payout.beneficiaryAccountNo, bankCode: payout.beneficiaryBankCode },
      notifyUrl: `${config.publicUrl}/channel/payout-notifications`,
      timestamp: this.deps.clock.now().toISOString(),
    };
    const reqData = JSON.stringify(data);
    const signature = await this.sign(reqData);
    // Shut down while it waited to be signed: not sent, still ACCEPTED; its lease brings it round after a restart.
    if (this.shutdown.signal.aborted) return;
    // Waited so long (a busy process) that the lease could run out while the order is out: another
    // process may claim it then and send it too. Not sent; the next claim comes with a longer lease.
    if (performance.now() + config.payouts.orderTimeoutMs > leaseEndsAtMs) {
      this.deps.logger.warn({ payoutId: payout.id }, 'payout lease too short for an order now; left to the next claim');
      return;
    }
    let status: number;
    let body: string;
    crashPoint('payouts.before-order');
    try {
      const response = await this.fetch(`${config.depository.bankUrl}/payouts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ platformNo: config.depository.platformNo, reqData, signature }),
        signal: AbortSignal.any([AbortSignal.timeout(config.payouts.orderTimeoutMs), this.shutdown.signal]),
      });
      status = response.status;
      body = await response.text();
    } catch (err) {
      if (connectionRefused(err)) {
        this.deps.logger.warn({ payoutId: payout.id }, 'the bank refused the connection: the order never arrived; it will be sent again');
        return;
      }
      return this.outcomeUnknown(payout, `no answer to the order (${(err as Error).name})`);
    }
    crashPoint('payouts.after-order-answer');
    if (status >= 500) return this.outcomeUnknown(payout, `the bank answered ${status}`);
    if (status >= 400) return this.orderRefused(payout, status, body);
    const result = this.believe(body, payout.id);
    if (!result) return this.outcomeUnknown(payout, 'the answer to the order is not signed by the bank');
    await this.markProcessing(payout, result.channelRef);
    await this.applyResult(result, 'order');
  }

  /** 4xx: the bank stored nothing. A bad order fails the payout; a signature problem (configuration) is retried. */
  private async orderRefused(payout: Payout, status: number, body: string): Promise<void> {
    const code = (parseJsonOrUndefined(body) as { code?: unknown } | undefined)?.code;
    if (status === 409) return this.outcomeUnknown(payout, 'the bank has another order under this payout id');
    if (status === 400 && code === 'VALIDATION_FAILED') {
      this.deps.logger.error({ payoutId: payout.id, body: body.slice(0, 300) }, 'the bank refused the payout order');
      // ACCEPTED, or PROCESSING when a query found the order missing and it was sent again.
      const from = payout.status === 'PROCESSING' ? 'PROCESSING' : 'ACCEPTED';
      await this.voidHolds(payout);
      await this.finish(payout, from, 'FAILED', { errorCode: 'CHANNEL_REJECTED', errorMessage: 'The payout channel refused the order' });
      return;
    }
    this.deps.logger.error({ payoutId: payout.id, status, body: body.slice(0, 300) }, 'the bank refused the payout order; it will be sent again');
  }

  private async outcomeUnknown(payout: Payout, why: string): Promise<void> {
    this.deps.logger.warn({ payoutId: payout.id, why }, 'payout outcome unknown: it will be queried, never sent elsewhere');
    await this.markProcessing(payout, undefined);
  }

  private async markProcessing(payout: Payout, channelRef: string | undefined): Promise<void> {
    const now = this.deps.clock.now();
    assertTransition('ACCEPTED', 'PROCESSING');
    await repo.transition(this.deps.db, payout.id, 'ACCEPTED', 'PROCESSING', {
      channelRef: channelRef ?? null,
      nextQueryAt: new Date(now.getTime() + this.deps.config.payouts.queryAfterMs),
    }, now);
  }

  // ---- results: one path for order answers, notifications and query answers -------------------

  /** GET /channel/payout-notifications: verified before anything is believed; 4xx and nothing changed otherwise. */
  async receiveNotification(query: { serviceName?: unknown; platformNo?: unknown; signature?: unknown; reqData?: unknown }): Promise<ResultOutcome> {
    const { reqData } = this.bankKey.verifiedNotification(query, {
      serviceNames: [PAYOUT_NOTIFICATION],
      platformNo: this.deps.config.depository.platformNo,
      malformedCode: 'MALFORMED_PAYOUT_RESULT',
      maxReqDataLength: 8192,
    });
    return this.applyResult(parseResult(reqData), 'notification');
  }

  /**
   * The one path by which a bank result moves a payout. Money first (ledger ids
   * derived from the payout id, so a replay moves nothing), then the guarded
   * status update with its PAYOUT_FINAL event in one transaction. The amount
   * hold is always settled first: whichever result posts or voids it owns the
   * payout; a contradicting one finds it final and stops before the fee.
   */
  async applyResult(result: PayoutResultData, source: 'order' | 'notification' | 'query'): Promise<ResultOutcome> {
    const payout = await repo.findPayout(this.deps.db, result.payoutId);
    if (!payout) throw new DomainError('PAYOUT_NOT_FOUND', `No payout ${result.payoutId}`);
    const mismatch = mismatchOf(payout, result);
    if (mismatch) throw new DomainError('PAYOUT_RESULT_MISMATCH', mismatch);
    let outcome: ResultOutcome;
    switch (result.status) {
      case 'SUCCEEDED':
        outcome = await this.succeed(payout, result, source);
        break;
      case 'FAILED':
        outcome = await this.fail(payout, result, source);
        break;
      case 'REVERSED':
        outcome = await this.reverse(payout, result, source);
        break;
      default:
        outcome = 'no-result';
    }
    if (outcome === 'settled') this.deps.logger.info({ payoutId: payout.id, status: result.status, source }, 'payout result applied');
    return outcome;
  }

  private async succeed(payout: Payout, result: PayoutResultData, source: string): Promise<ResultOutcome> {
    if (payout.status === 'SUCCEEDED' || payout.status === 'REVERSED') return 'duplicate';
    if (payout.status === 'FAILED') return this.contradiction(payout, result, source);
    if (payout.status === 'ACCEPTED') await this.markProcessing(payout, result.channelRef);
    try {
      for (const part of partsOf(payout.feeMinor)) {
        await this.deps.ledger.postPending({ id: ledgerIds.post(payout.id, part), pendingId: ledgerIds.hold(payout.id, part), reference: payout.id });
      }
    } catch (err) {
      if (isDomainError(err, 'PENDING_TRANSFER_ALREADY_FINAL')) return this.contradiction(payout, result, source);
      throw err;
    }
    return this.finish(payout, 'PROCESSING', 'SUCCEEDED', { channelRef: result.channelRef ?? null, nextQueryAt: this.reversalWatchStart() }, result, source);
  }

  private async fail(payout: Payout, result: PayoutResultData, source: string): Promise<ResultOutcome> {
    if (payout.status === 'FAILED') return 'duplicate';
    if (payout.status === 'SUCCEEDED' || payout.status === 'REVERSED') return this.contradiction(payout, result, source);
    if (payout.status === 'ACCEPTED') await this.markProcessing(payout, result.channelRef);
    try {
      await this.voidHolds(payout);
    } catch (err) {
      if (isDomainError(err, 'PENDING_TRANSFER_ALREADY_FINAL')) return this.contradiction(payout, result, source);
      throw err;
    }
    return this.finish(
      payout,
      'PROCESSING',
      'FAILED',
      { errorCode: bounded(result.errorCode) ?? 'FAILED', errorMessage: bounded(result.errorMessage), channelRef: result.channelRef ?? null },
      result,
      source,
    );
  }

  /** A reversal needs a success first: a REVERSED arriving before SUCCEEDED applies both, in order. */
  private async reverse(payout: Payout, result: PayoutResultData, source: string): Promise<ResultOutcome> {
    if (payout.status === 'REVERSED') return 'duplicate';
    if (payout.status === 'FAILED') return this.contradiction(payout, result, source);
    if (payout.status !== 'SUCCEEDED') {
      const first = await this.succeed(payout, { ...result, status: 'SUCCEEDED' }, source);
      if (first === 'contradicted') return first;
      payout = (await repo.findPayout(this.deps.db, payout.id))!;
      if (payout.status !== 'SUCCEEDED') return payout.status === 'REVERSED' ? 'duplicate' : this.contradiction(payout, result, source);
    }
    const [clearingId, feeIncomeId] = await Promise.all([
      this.deps.ledger.platformAccountId('PAYOUT_CLEARING', payout.currency),
      this.deps.ledger.platformAccountId('FEE_INCOME', payout.currency),
    ]);
    const returns: TransferRequest[] = partsOf(payout.feeMinor).map((part) => ({
      id: ledgerIds.reversal(payout.id, part),
      debitAccountId: part === 'amount' ? clearingId : feeIncomeId,
      creditAccountId: payout.settlementAccountId as AccountId,
      amountMinor: part === 'amount' ? payout.amountMinor : payout.feeMinor,
      currency: payout.currency,
      code: 'reversal',
      reference: payout.id,
    }));
    await this.deps.ledger.linkedTransfers(returns);
    return this.finish(
      payout,
      'SUCCEEDED',
      'REVERSED',
      { errorCode: bounded(result.errorCode) ?? 'REVERSED', errorMessage: bounded(result.errorMessage) },
      result,
      source,
    );
  }

  /**
   * The guarded move to a final status, its event and (for a failure) the
   * risk decision's release, in one transaction. Zero rows: another result got
   * there first, answered from the record as it is now.
   */
  private async finish(
    payout: Payout,
    from: PayoutStatus,
    to: PayoutStatus,
    change: repo.Change,
    result?: PayoutResultData,
    source?: string,
  ): Promise<ResultOutcome> {
    crashPoint('payouts.after-ledger-before-final');
    assertTransition(from, to);
    const now = this.deps.clock.now();
    const moved = await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.transition(trx, payout.id, from, to, change, now);
      if (!row) return undefined;
      if (to === 'FAILED') await this.deps.risk.release(row.riskDecisionId, trx);
      await publish(trx, { topic: PAYOUT_FINAL, key: row.id, payload: { merchantId: row.merchantId, status: to, payout: payoutView(row) } });
      return row;
    });
    if (!moved) {
      const current = (await repo.findPayout(this.deps.db, payout.id))!;
      if (current.status === to || (to === 'SUCCEEDED' && current.status === 'REVERSED')) return 'duplicate';
      return result ? this.contradiction(current, result, source ?? '?') : 'contradicted';
    }
    crashPoint('payouts.after-final-commit');
    this.deps.onFinal?.();
    return 'settled';
  }

  /** A SUCCEEDED payout's first query for a reversal the bank may not have been able to tell (none when the watch is off). */
  private reversalWatchStart(): Date | null {
    const { reversalWatchMs, reversalQueryAfterMs } = this.deps.config.payouts;
    return reversalWatchMs > 0 ? new Date(this.deps.clock.now().getTime() + reversalQueryAfterMs) : null;
  }

  private contradiction(payout: Payout, result: PayoutResultData, source: string): ResultOutcome {
    this.deps.logger.error(
      { payoutId: payout.id, recorded: payout.status, received: result.status, source },
      'the bank contradicted a settled payout; the first result stands',
    );
    return 'contradicted';
  }

  /**
   * The query job: payouts whose query time has come are claimed (FOR UPDATE
   * SKIP LOCKED, backing off) and asked about with QUERY_PAYOUT; the signed
   * answer goes through `applyResult`. PROCESSING ones until they are final;
   * SUCCEEDED ones during their reversal watch, so a reversal whose every
   * notification failed (Coffer down for the bank's whole retry schedule) is
   * still learned. NOT_FOUND for a PROCESSING payout: the order never reached
   * the bank, so it is sent again — to the same bank, under the same payout id
   * (the bank's idempotency key) — if the claim's lease still covers a whole
   * order: the claimed payouts are asked about one after another, and once a
   * lease runs out another process may claim the payout, find it NOT_FOUND
   * too and send a second order while the first is out.
   */
  async queryDue(): Promise<number> {
    const { config, clock } = this.deps;
    const backoff = { baseDelayMs: config.payouts.queryAfterMs, maxDelayMs: Math.max(config.payouts.queryAfterMs, MAX_DELAY_MS) };
    const claimedAtMs = performance.now();
    const due = await repo.claimQueries(this.deps.db, {
      ...backoff,
      now: clock.now(),
      limit: JOB_BATCH,
      watchMs: config.payouts.reversalWatchMs,
      watchBaseMs: config.payouts.reversalQueryAfterMs,
    });
    let settled = 0;
    for (const payout of due) {
      if (this.stopped) break; // the claim's back-off brings it round again after a restart
      try {
        if ((await this.queryOne(payout, claimedAtMs + leaseMs(backoff, payout.queryAttempts))) === 'settled') settled += 1;
      } catch (err) {
        this.deps.logger.warn({ err, payoutId: payout.id }, 'payout status query failed; will ask again');
      }
    }
    return settled;
  }

  private async queryOne(payout: Payout, leaseEndsAtMs: number): Promise<ResultOutcome> {
    const { config } = this.deps;
    const data: QueryPayoutData = { payoutId: payout.id, timestamp: this.deps.clock.now().toISOString() };
    const reqData = JSON.stringify(data);
    const response = await this.fetch(`${config.depository.bankUrl}/service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serviceName: QUERY_PAYOUT, platformNo: config.depository.platformNo, reqData, signature: await this.sign(reqData) }),
      signal: AbortSignal.any([AbortSignal.timeout(QUERY_TIMEOUT_MS), this.shutdown.signal]),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`bank answered ${response.status}: ${body.slice(0, 200)}`);
    const result = this.believe(body, payout.id);
    if (!result) throw new Error('the query answer is not signed by the bank');
    if (result.status === 'NOT_FOUND') {
      if (payout.status !== 'PROCESSING') return this.contradiction(payout, result, 'query');
      this.deps.logger.warn({ payoutId: payout.id }, 'the bank never received the payout order: sending it again (same bank, same id)');
      await this.sendOrder(payout, leaseEndsAtMs);
      return 'no-result';
    }
    return this.applyResult(result, 'query');
  }

  /** A signed answer `{reqData, signature}` about this payout, or undefined if it cannot be believed. */
  private believe(body: string, payoutId: string): PayoutResultData | undefined {
    const answer = parseJsonOrUndefined(body) as { reqData?: unknown; signature?: unknown } | undefined;
    if (typeof answer?.reqData !== 'string' || !verifyText(answer.reqData, answer.signature as string, this.bankKey.get())) return undefined;
    try {
      const result = parseResult(answer.reqData, true);
      return result.payoutId === payoutId ? result : undefined;
    } catch {
      return undefined;
    }
  }

  // ---- risk review and orphaned holds ---------------------------------------------------------

  /** Consumer of RISK_REVIEWED: APPROVED sends the waiting payout; REJECTED fails it (hold voided, decision released). */
  async handleRiskReviewed(message: OutboxMessage<RiskReviewedEvent>): Promise<void> {
    const event = message.payload;
    if (event.flow !== 'PAYOUT') return;
    const payout = await repo.findByDecision(this.deps.db, event.decisionId);
    if (!payout) {
      this.deps.logger.warn({ decisionId: event.decisionId }, 'risk review for a payout that was never saved; nothing to do');
      return;
    }
    if (payout.status !== 'ACCEPTED' || !payout.reviewPending) return; // a redelivery
    if (event.outcome === 'APPROVED') {
      if (await repo.approveReview(this.deps.db, payout.id, this.deps.clock.now())) this.wake();
      return;
    }
    await this.voidHolds(payout);
    await this.finish(payout, 'ACCEPTED', 'FAILED', { errorCode: 'RISK_REVIEW_REJECTED', errorMessage: bounded(event.note) ?? 'Rejected by risk review' });
  }

  /**
   * A payout places its hold before it saves its record; a crash between the
   * two leaves a hold nothing will settle. This job voids holds of code
   * `payout` older than PAYOUT_ORPHAN_HOLD_AFTER_S whose payout does not
   * exist, with their fee holds, and releases their risk decisions.
   */
  async releaseOrphanHolds(): Promise<number> {
    const createdBefore = new Date(this.deps.clock.now().getTime() - this.deps.config.payouts.orphanHoldAfterS * 1000);
    // Live payouts keep old holds too (awaiting review, long PROCESSING): each run takes the next
    // page after the last one, and starts over from the oldest once a page comes back short.
    const holds = await this.deps.ledger.openPendingTransfers({
      code: 'payout',
      createdBefore,
      limit: this.sweepPageSize,
      ...(this.sweepAfter ? { after: this.sweepAfter } : {}),
    });
    const last = holds.at(-1);
    this.sweepAfter = holds.length === this.sweepPageSize && last ? { createdAt: last.createdAt, id: last.id } : undefined;
    const saved = await repo.findPayoutIds(this.deps.db, holds.flatMap((h) => h.reference ?? []));
    let released = 0;
    for (const hold of holds) {
      const id = hold.reference;
      if (!id || saved.has(id) || hold.id !== ledgerIds.hold(id, 'amount')) continue;
      this.deps.logger.warn({ payoutId: id }, 'releasing the hold of a payout that was never saved');
      for (const part of ['amount', 'fee'] as const) await this.voidHold(id, part);
      const decisionId = hold.metadata?.decisionId;
      if (typeof decisionId === 'string') await this.releaseDecision(decisionId, id);
      released += 1;
    }
    return released;
  }

  private async voidHolds(payout: Pick<Payout, 'id' | 'feeMinor'>): Promise<void> {
    for (const part of partsOf(payout.feeMinor)) await this.voidHold(payout.id, part);
  }

  private async voidHold(id: string, part: Part): Promise<void> {
    try {
      await this.deps.ledger.voidPending({ id: ledgerIds.void(id, part), pendingId: ledgerIds.hold(id, part), reference: id });
    } catch (err) {
      // A hold that was never placed (the linked group failed, or there is no fee) has nothing to release.
      if (!isDomainError(err, 'PENDING_TRANSFER_NOT_FOUND')) throw err;
    }
  }

  private async releaseDecision(decisionId: string, payoutId: string): Promise<void> {
    await this.deps.risk.release(decisionId).catch((err: unknown) =>
      this.deps.logger.error({ err, decisionId, payoutId }, 'could not release the risk decision of a payout that was not made'),
    );
  }
}

/**
 * A payout request checked and normalised (SPEC 5 field rules). The single
 * API and every row of a batch file go through this one function, so a batch
 * that validates is a batch whose rows accept would take.
 */
export function validatePayoutInput(input: PayoutInput): ValidPayoutInput {
  const currency = currencyCode(input.currency);
  const amountMinor = parseMoney(input.amount, currency).amountMinor;
  const merchantOrderNo = input.merchantOrderNo;
  if (!ORDER_NO.test(merchantOrderNo)) {
    throw new DomainError('VALIDATION_FAILED', 'merchantOrderNo must be 1-64 letters, digits or _ - . :');
  }
  const beneficiary = {
    name: text(input.beneficiary.name, 'beneficiary.name'),
    accountNo: text(input.beneficiary.accountNo.replace(/[\s-]/g, ''), 'beneficiary.accountNo'),
    bankCode: text(input.beneficiary.bankCode, 'beneficiary.bankCode'),
  };
  // 34: the longest account number there is (an IBAN), and what the risk module compares.
  if (!/^[0-9A-Za-z]{4,34}$/.test(beneficiary.accountNo)) {
    throw new DomainError('VALIDATION_FAILED', 'beneficiary.accountNo must be 4-34 letters or digits (spaces and dashes are ignored)');
  }
  const remark = input.remark === undefined ? null : input.remark;
  if (remark !== null && remark.length > MAX_FIELD) throw new DomainError('VALIDATION_FAILED', `remark must be at most ${MAX_FIELD} characters`);
  return { merchantOrderNo, amountMinor, currency, beneficiary, remark };
}

interface OrderKey {
  merchantId: string;
  merchantOrderNo: string;
}

function orderKey(key: OrderKey): string {
  return `${key.merchantId}\n${key.merchantOrderNo}`;
}

function duplicateOrder(existing: Payout): DomainError {
  return new DomainError('DUPLICATE_MERCHANT_ORDER_NO', `merchantOrderNo ${existing.merchantOrderNo} is payout ${existing.id} already`, {
    payoutId: existing.id,
    status: existing.status,
  });
}

function text(value: string, field: string): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > 128) throw new DomainError('VALIDATION_FAILED', `${field} must be 1-128 characters`);
  return trimmed;
}

function bounded(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_FIELD) : null;
}


/** A bank result's reqData; `NOT_FOUND` only from a query. */
function parseResult(reqData: string, allowNotFound = false): PayoutResultData {
  const data = parseJsonOrUndefined(reqData) as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new DomainError('MALFORMED_PAYOUT_RESULT', 'reqData is not a JSON object');
  if (typeof data.payoutId !== 'string' || data.payoutId.length === 0 || data.payoutId.length > 64) {
    throw new DomainError('MALFORMED_PAYOUT_RESULT', 'reqData.payoutId must be a payout id');
  }
  const statuses: readonly unknown[] = allowNotFound ? [...channelPayoutStatuses, 'NOT_FOUND'] : channelPayoutStatuses;
  if (!statuses.includes(data.status)) throw new DomainError('MALFORMED_PAYOUT_RESULT', 'reqData.status is not a payout status');
  for (const field of ['amount', 'currency', 'channelRef', 'errorCode', 'errorMessage'] as const) {
    if (data[field] !== undefined && data[field] !== null && typeof data[field] !== 'string') {
      throw new DomainError('MALFORMED_PAYOUT_RESULT', `reqData.${field} must be a string`);
    }
  }
  return data as unknown as PayoutResultData;
}

function mismatchOf(payout: Payout, result: PayoutResultData): string | undefined {
  if (result.currency !== undefined && result.currency !== payout.currency) return `payout ${payout.id} is in ${payout.currency}`;
  if (result.amount !== undefined) {
    let amountMinor: bigint | undefined;
    try {
      amountMinor = parseMoney(result.amount, payout.currency).amountMinor;
    } catch {
      amountMinor = undefined;
    }
    if (amountMinor !== payout.amountMinor) return `the amount ${JSON.stringify(result.amount)} is not the amount of payout ${payout.id}`;
  }
  return undefined;
}

/** ECONNREFUSED: nothing listened, so the order surely never arrived. */
function connectionRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors ?? []).some((e) => e?.code === 'ECONNREFUSED');
}

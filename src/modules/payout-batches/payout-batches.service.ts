import type { Clock } from '../../platform/clock.ts';
import { csvLine } from '../../platform/csv.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { type CurrencyCode, formatMinor } from '../../platform/money/index.ts';
import type { Page } from '../ledger/index.ts';
import type { MerchantsService } from '../merchants/index.ts';
import { type Payout, type PayoutInput, type PayoutsService, validatePayoutInput } from '../payouts/index.ts';
import type { WebhooksService } from '../webhooks/index.ts';
import { invalidFile, readBatchFile, RESULTS_HEADER, resultLine } from './payout-batches.csv.ts';
import * as repo from './payout-batches.repository.ts';
import {
  assertBatchTransition,
  type BatchActor,
  type BatchId,
  type BatchRow,
  type BatchStatus,
  batchStatuses,
  type LineError,
  type PayoutBatch,
  type RowStatus,
} from './payout-batches.types.ts';
import { crashPoint } from '../../platform/faults.ts';

export interface PayoutBatchesOptions {
  /** Rows handed to the payouts module at once, per process (PAYOUT_BATCH_CONCURRENCY). */
  concurrency: number;
  /** Rows per file (more is 413 PAYOUT_BATCH_TOO_LARGE). */
  maxRows: number;
  /** How long a claimed row is this process's before another may take it over. */
  leaseMs: number;
}

export const DEFAULT_PAYOUT_BATCHES_OPTIONS: PayoutBatchesOptions = { concurrency: 16, maxRows: 100_000, leaseMs: 60_000 };

export interface PayoutBatchesDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  merchants: Pick<MerchantsService, 'assertCanUse'>;
  payouts: Pick<PayoutsService, 'accept' | 'get' | 'takenOrderNos'>;
  webhooks: Pick<WebhooksService, 'record'>;
  options?: Partial<PayoutBatchesOptions>;
}

/** The payload of the payouts module's PAYOUT_FINAL topic, as far as batches read it. */
export interface PayoutFinalPayload {
  merchantId: string;
  status: 'SUCCEEDED' | 'FAILED' | 'REVERSED';
  payout: { id: string; merchantOrderNo: string; errorCode?: string | null; errorMessage?: string | null };
}

/** Where a batch stands, as the API and the `payout_batch.processed` webhook show it. */
export interface BatchView {
  id: string;
  status: BatchStatus;
  currency: string;
  count: number;
  totalAmount: string;
  createdBy: BatchActor;
  approvedBy: BatchActor | null;
  rejectedBy: BatchActor | null;
  rejectReason: string | null;
  /** Rows per status: how many, their amounts and (once accepted) fees. */
  rows: Record<RowStatus, { count: number; amount: string; fee: string }>;
  decided: string | null;
  processed: string | null;
  created: string;
  updated: string;
}

export function batchView(b: PayoutBatch): BatchView {
  const rows = Object.fromEntries(
    Object.entries(b.rows).map(([status, t]) => [status, { count: t.count, amount: formatMinor(t.amountMinor, b.currency), fee: formatMinor(t.feeMinor, b.currency) }]),
  ) as BatchView['rows'];
  return {
    id: b.id,
    status: b.status,
    currency: b.currency,
    count: b.rowCount,
    totalAmount: formatMinor(b.totalMinor, b.currency),
    createdBy: b.createdBy,
    approvedBy: b.status === 'REJECTED' ? null : b.decidedBy,
    rejectedBy: b.status === 'REJECTED' ? b.decidedBy : null,
    rejectReason: b.rejectReason,
    rows,
    decided: b.decidedAt?.toISOString() ?? null,
    processed: b.processedAt?.toISOString() ?? null,
    created: b.createdAt.toISOString(),
    updated: b.updatedAt.toISOString(),
  };
}

const BATCH_PRODUCT = { product: 'PAYOUT_BATCH' } as const;
/** Rows inserted (and checked against existing payouts) per statement during an upload. */
const UPLOAD_CHUNK = 1000;
const RESULTS_PAGE = 1000;
const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;
const MAX_REASON = 256;
/** An adopted payout may predate the row's first claim by this much (clocks of two processes). */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Batch payouts (SPEC 5): a CSV upload validated whole and stored as one
 * batch AWAITING_APPROVAL; a checker (never its creator) approves or rejects
 * it; approval releases each row through `payouts.accept` (a claimed job with
 * bounded concurrency), and rows follow their payouts to a final status
 * through the `payout.final` outbox topic. README.md beside this file.
 */
export class PayoutBatchesService {
  readonly options: PayoutBatchesOptions;
  private running: Promise<number> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: PayoutBatchesDeps) {
    this.options = { ...DEFAULT_PAYOUT_BATCHES_OPTIONS, ...deps.options };
  }

  // ---- upload ---------------------------------------------------------------------------------

  /**
   * Reads the whole file (a stream: bounded memory) inside one transaction,
   * inserting valid rows a chunk at a time; any bad line rolls everything back
   * and is reported with every other bad line (PAYOUT_BATCH_INVALID).
   * `clientKey` (the upload's Idempotency-Key) names the batch: a retry after
   * the upload committed but its answer was lost gets that batch again.
   */
  async create(merchantId: string, csv: AsyncIterable<Buffer | string> | string, createdBy: BatchActor, clientKey?: string): Promise<PayoutBatch> {
    await this.deps.merchants.assertCanUse(merchantId, 'PAYOUT_BATCH');
    const earlier = clientKey ? await repo.batchIdByClientKey(this.deps.db, merchantId, clientKey) : undefined;
    if (earlier) return this.get(merchantId, earlier);
    const now = this.deps.clock.now();
    const id = newId('pb', now.getTime()) as BatchId;
    const saved = await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.insertBatch(trx, { id, merchantId, createdBy, now, clientKey: clientKey ?? null }))) return false;
      const errors: LineError[] = [];
      let currency: CurrencyCode | undefined;
      let count = 0;
      let totalMinor = 0n;
      let chunk: repo.NewRow[] = [];
      for await (const record of readBatchFile(csv, this.options.maxRows)) {
        if ('error' in record) {
          errors.push(record.error);
          continue;
        }
        const row = rowFrom(record.line, record.fields, errors);
        if (!row) continue;
        currency ??= row.currency;
        if (row.currency !== currency) {
          errors.push({ line: row.line, reason: `Every row of a batch must be in one currency: ${currency} (the first row's)`, code: 'CURRENCY_MISMATCH' });
          continue;
        }
        chunk.push(row);
        count += 1;
        totalMinor += row.amountMinor;
        if (chunk.length >= UPLOAD_CHUNK) {
          await this.insertChunk(trx, id, merchantId, chunk, errors);
          chunk = [];
          // The embedded store answers without real I/O: without a turn of the event loop per chunk, a large
          // file would hold off timers and other requests until it is all read.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await this.insertChunk(trx, id, merchantId, chunk, errors);
      if (errors.length > 0) throw invalidFile(errors.sort((a, b) => a.line - b.line));
      if (count === 0 || !currency) throw invalidFile([{ line: 1, reason: 'The file has a header but no rows', code: 'VALIDATION_FAILED' }]);
      await repo.completeUpload(trx, id, currency, count, totalMinor);
      return true;
    });
    // Not saved: an upload with this key (still running after its claim ran out) saved its batch first.
    if (!saved) return this.get(merchantId, (await repo.batchIdByClientKey(this.deps.db, merchantId, clientKey!))!);
    this.deps.logger.info({ batchId: id, merchantId }, 'payout batch uploaded');
    return this.get(merchantId, id);
  }

  /**
   * One chunk of valid rows: a merchantOrderNo twice in the chunk, held by a
   * live row already (earlier in this file or another batch: the unique index
   * decides), or used by a payout already, is that line's error.
   */
  private async insertChunk(trx: repo.Executor, batchId: BatchId, merchantId: string, rows: repo.NewRow[], errors: LineError[]): Promise<void> {
    if (rows.length === 0) return;
    const firstLine = new Map<string, number>();
    const unique: repo.NewRow[] = [];
    for (const row of rows) {
      const first = firstLine.get(row.merchantOrderNo);
      if (first === undefined) {
        firstLine.set(row.merchantOrderNo, row.line);
        unique.push(row);
      } else {
        errors.push(duplicateInFile(row.line, row.merchantOrderNo, first));
      }
    }
    const inserted = await repo.insertRows(trx, batchId, merchantId, unique, this.deps.clock.now());
    const payouts = await this.deps.payouts.takenOrderNos(merchantId, [...firstLine.keys()], trx);
    const clashes = unique.filter((r) => !inserted.has(r.line));
    const holders = await repo.orderNoHolders(trx, merchantId, clashes.map((r) => r.merchantOrderNo));
    for (const row of clashes) {
      const holder = holders.get(row.merchantOrderNo);
      if (holder?.batchId === batchId) errors.push(duplicateInFile(row.line, row.merchantOrderNo, holder.line));
      else {
        const where = holder ? `row ${holder.line} of batch ${holder.batchId}` : 'another batch';
        errors.push({ line: row.line, reason: `merchantOrderNo ${row.merchantOrderNo} is used by ${where} already`, code: 'DUPLICATE_MERCHANT_ORDER_NO' });
      }
    }
    for (const row of unique) {
      const payoutId = payouts.get(row.merchantOrderNo);
      if (payoutId && inserted.has(row.line)) {
        errors.push({ line: row.line, reason: `merchantOrderNo ${row.merchantOrderNo} is payout ${payoutId} already`, code: 'DUPLICATE_MERCHANT_ORDER_NO' });
      }
    }
  }

  // ---- decisions ------------------------------------------------------------------------------

  /**
   * A checker approves: AWAITING_APPROVAL -> APPROVED, and the release job is
   * woken. The batch's creator may never decide it. Approving again by the
   * same checker answers the batch as it is now (a safe retry); anything else
   * not AWAITING_APPROVAL is PAYOUT_BATCH_NOT_AWAITING_APPROVAL.
   */
  async approve(merchantId: string, batchId: string, by: BatchActor): Promise<PayoutBatch> {
    const moved = await this.decide(merchantId, batchId, by, 'APPROVED');
    if (moved) this.wake();
    return this.get(merchantId, batchId);
  }

  /** A checker rejects: every row CANCELLED (its order number free again), no money moved. */
  async reject(merchantId: string, batchId: string, by: BatchActor, reason?: string): Promise<PayoutBatch> {
    if (reason !== undefined && reason.length > MAX_REASON) throw new DomainError('VALIDATION_FAILED', `reason must be at most ${MAX_REASON} characters`);
    await this.decide(merchantId, batchId, by, 'REJECTED', reason?.trim() || null);
    return this.get(merchantId, batchId);
  }

  private decide(merchantId: string, batchId: string, by: BatchActor, to: 'APPROVED' | 'REJECTED', reason: string | null = null): Promise<boolean> {
    return this.deps.db.transaction().execute(async (trx) => {
      const batch = isId(batchId, 'pb') ? await repo.findBatch(trx, merchantId, batchId, true) : undefined;
      if (!batch) throw notFound(batchId);
      if (sameActor(batch.createdBy, by)) {
        throw new DomainError('PAYOUT_BATCH_OWN_BATCH', 'Whoever created a batch cannot approve or reject it: another checker must', { createdBy: batch.createdBy });
      }
      if (batch.status !== 'AWAITING_APPROVAL') {
        const sameDecision = (to === 'REJECTED') === (batch.status === 'REJECTED');
        if (sameDecision && batch.decidedBy && sameActor(batch.decidedBy, by)) return false;
        throw new DomainError('PAYOUT_BATCH_NOT_AWAITING_APPROVAL', `The batch is ${batch.status}`, { status: batch.status });
      }
      if (to === 'APPROVED') await this.deps.merchants.assertCanUse(merchantId, 'PAYOUT_BATCH', trx);
      const now = this.deps.clock.now();
      assertBatchTransition(batch.status, to);
      if (!(await repo.moveBatch(trx, batchId, batch.status, to, now, { decidedBy: by, rejectReason: reason }))) {
        throw new Error(`payout batch ${batchId} moved while locked`);
      }
      if (to === 'REJECTED') await repo.cancelRows(trx, batchId, now);
      this.deps.logger.info({ batchId, merchantId, status: to, by }, 'payout batch decided');
      return true;
    });
  }

  // ---- reads ----------------------------------------------------------------------------------

  async get(merchantId: string, batchId: string): Promise<PayoutBatch> {
    const batch = isId(batchId, 'pb') ? await repo.findBatch(this.deps.db, merchantId, batchId) : undefined;
    if (!batch) throw notFound(batchId);
    return { ...batch, rows: (await repo.tallies(this.deps.db, [batch.id])).get(batch.id)! };
  }

  async list(merchantId: string, filter: { limit?: number | undefined; startingAfter?: string | undefined; status?: string | undefined }): Promise<Page<PayoutBatch>> {
    if (filter.status !== undefined && !batchStatuses.includes(filter.status as BatchStatus)) {
      throw new DomainError('VALIDATION_FAILED', `status must be one of ${batchStatuses.join(', ')}`);
    }
    if (filter.startingAfter !== undefined && !/^pb_[0-9a-z]{1,60}$/.test(filter.startingAfter)) {
      throw new DomainError('VALIDATION_FAILED', 'startingAfter must be the id of a batch from the previous page');
    }
    const limit = Math.min(Math.max(filter.limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
    const heads = await repo.listBatches(this.deps.db, merchantId, { status: filter.status as BatchStatus | undefined, startingAfter: filter.startingAfter }, limit + 1);
    const page = heads.slice(0, limit);
    const counts = await repo.tallies(this.deps.db, page.map((b) => b.id));
    return { data: page.map((b) => ({ ...b, rows: counts.get(b.id)! })), hasMore: heads.length > limit };
  }

  /** The per-row results file (CSV), read from the database a page at a time. */
  async resultsCsv(merchantId: string, batchId: string): Promise<AsyncIterable<string>> {
    const batch = await this.get(merchantId, batchId);
    const db = this.deps.db;
    return (async function* () {
      yield csvLine(RESULTS_HEADER);
      let after = 0;
      for (;;) {
        const rows = await repo.rowsAfter(db, batch.id, after, RESULTS_PAGE);
        for (const r of rows) {
          yield resultLine({
            ...r,
            amount: formatMinor(r.amountMinor, r.currency),
            fee: r.feeMinor === null ? null : formatMinor(r.feeMinor, r.currency),
          });
        }
        if (rows.length < RESULTS_PAGE) return;
        after = rows[rows.length - 1]!.line;
      }
    })();
  }

  // ---- release --------------------------------------------------------------------------------

  /**
   * The release job: claims PENDING rows of APPROVED batches (a lease under
   * FOR UPDATE SKIP LOCKED) and hands each to `payouts.accept`, at most
   * `concurrency` at once in this process, until none is due. A run already
   * going takes a wake as one more round rather than starting a second run.
   */
  releaseDue(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = this.releaseRounds().finally(() => (this.running = undefined));
    this.running = run;
    return run;
  }

  private wake(): void {
    this.releaseDue().catch((err: unknown) => this.deps.logger.warn({ err }, 'payout batch release failed; the job will try again'));
  }

  /** On shutdown: no new rounds; the one running finishes (each row's acceptance is short). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async releaseRounds(): Promise<number> {
    let total = 0;
    const claimSize = this.options.concurrency * 4;
    for (;;) {
      this.again = false;
      const rows = await repo.claimRows(this.deps.db, this.deps.clock.now(), claimSize, this.options.leaseMs);
      total += rows.length;
      await forEachLimit(rows, this.options.concurrency, (row) =>
        this.release(row).catch((err: unknown) =>
          this.deps.logger.warn({ err, batchId: row.batchId, line: row.line }, 'payout batch row not released; it will be claimed again'),
        ),
      );
      // Batches whose last rows this round handled move on; with nothing claimed, any APPROVED batch is looked at
      // (its last rows may have been handled by a process that died before this step).
      const batches = rows.length > 0 ? new Set(rows.map((r) => r.batchId)) : new Set(await repo.approvedBatchIds(this.deps.db));
      for (const id of batches) await this.deps.db.transaction().execute((trx) => this.settle(trx, id));
      if (this.stopped || (rows.length < claimSize && !this.again)) return total;
    }
  }

  /**
   * One row to the payouts module. Refused (a DomainError: no funds, risk,
   * a duplicate, the merchant suspended): the row is FAILED with that code
   * and no money moved — unless the row has its payout already. A
   * DUPLICATE_MERCHANT_ORDER_NO is looked at first: if the payout it names is
   * this row's, the row adopts it. That payout came from another claim of the
   * row: one that died before saving it, or one still running (its lease ran
   * out under a slow database) that won the race to insert it. Anything else
   * (the database away) leaves the row to a later claim once its lease ends.
   */
  private async release(row: BatchRow): Promise<void> {
    let payout: Payout;
    try {
      payout = await this.deps.payouts.accept(row.merchantId, inputOf(row), BATCH_PRODUCT);
    } catch (err) {
      if (!isDomainError(err)) throw err;
      if (err.code === 'DUPLICATE_MERCHANT_ORDER_NO') {
        const own = await this.ownPayout(row, err.extra?.payoutId);
        if (own) return this.saveAccepted(row, own);
      }
      await repo.refuseRow(this.deps.db, rowKey(row), this.deps.clock.now(), { errorCode: err.code, errorMessage: err.message });
      return;
    }
    crashPoint('payout-batches.after-row-accept');
    await this.saveAccepted(row, payout);
  }

  private async ownPayout(row: BatchRow, payoutId: unknown): Promise<Payout | undefined> {
    if (typeof payoutId !== 'string') return undefined;
    const payout = await this.deps.payouts.get(row.merchantId, payoutId).catch((err: unknown) => {
      if (isDomainError(err, 'PAYOUT_NOT_FOUND')) return undefined;
      throw err;
    });
    if (!payout) return undefined;
    const sameRequest =
      payout.merchantOrderNo === row.merchantOrderNo &&
      payout.amountMinor === row.amountMinor &&
      payout.currency === row.currency &&
      payout.beneficiaryName === row.beneficiaryName &&
      payout.beneficiaryAccountNo === row.beneficiaryAccountNo &&
      payout.beneficiaryBankCode === row.beneficiaryBankCode &&
      payout.remark === row.remark &&
      row.firstAttemptAt !== null &&
      payout.createdAt.getTime() >= row.firstAttemptAt.getTime() - CLOCK_SKEW_MS;
    if (sameRequest) this.deps.logger.warn({ batchId: row.batchId, line: row.line, payoutId }, 'payout batch row adopts the payout another claim of it accepted');
    return sameRequest ? payout : undefined;
  }

  /** The row has its payout. An adopted payout may be final already: the row takes that status at once. */
  private async saveAccepted(row: BatchRow, payout: Payout): Promise<void> {
    const now = this.deps.clock.now();
    const final = payout.status === 'SUCCEEDED' || payout.status === 'FAILED' || payout.status === 'REVERSED';
    await this.deps.db.transaction().execute(async (trx) => {
      if (final) await repo.lockBatch(trx, row.batchId);
      const moved = await repo.moveRow(trx, rowKey(row), 'ACCEPTED', now, { payoutId: payout.id, feeMinor: payout.feeMinor });
      if (moved && final) {
        await repo.moveRow(trx, { payoutId: payout.id }, payout.status as RowStatus, now, { errorCode: payout.errorCode, errorMessage: payout.errorMessage });
      }
    });
  }

  // ---- following payouts ----------------------------------------------------------------------

  /**
   * The `payout.final` consumer (idempotent: the guarded row move makes a
   * redelivered or late message a no-op). A payout not (yet) known by any row
   * whose order number a row is releasing right now is retried (the relay
   * backs off): its row saves the payout id a moment later. Any other payout
   * is not a batch's.
   */
  async handlePayoutFinal(message: PayoutFinalPayload): Promise<void> {
    const now = this.deps.clock.now();
    const row = await repo.rowOfPayout(this.deps.db, { ...message.payout, merchantId: message.merchantId });
    if (!row) return;
    if (row.releasing) throw new Error(`payout ${message.payout.id} is being saved on its batch row; try again`);
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.lockBatch(trx, row.batchId);
      const moved = await repo.moveRow(trx, { payoutId: message.payout.id }, message.status, now, {
        errorCode: message.payout.errorCode ?? null,
        errorMessage: message.payout.errorMessage ?? null,
      });
      if (moved) await this.settle(trx, row.batchId);
    });
  }

  /**
   * Under the batch's lock (so two last rows finishing at once cannot both
   * miss it): no PENDING row left -> PROCESSING; no open row at all ->
   * PROCESSED, with its one `payout_batch.processed` webhook event in the same
   * transaction.
   */
  private async settle(trx: repo.Executor, batchId: string): Promise<void> {
    const batch = await repo.lockBatch(trx, batchId);
    if (!batch || (batch.status !== 'APPROVED' && batch.status !== 'PROCESSING')) return;
    const open = await repo.openRows(trx, batchId);
    if (open.pending) return;
    const now = this.deps.clock.now();
    if (open.accepted) {
      if (batch.status === 'APPROVED') await repo.moveBatch(trx, batchId, 'APPROVED', 'PROCESSING', now);
      return;
    }
    assertBatchTransition(batch.status, 'PROCESSED');
    await repo.moveBatch(trx, batchId, batch.status, 'PROCESSED', now, { processedAt: now });
    const view = batchView({ ...batch, status: 'PROCESSED', processedAt: now, updatedAt: now, rows: (await repo.tallies(trx, [batchId])).get(batchId)! });
    await this.deps.webhooks.record(trx, {
      merchantId: batch.merchantId,
      type: 'payout_batch.processed',
      data: view as unknown as Record<string, unknown>,
      resourceUpdatedAt: view.updated,
      sourceKey: `payout_batch:${batchId}:PROCESSED`,
    });
    this.deps.logger.info({ batchId, merchantId: batch.merchantId }, 'payout batch processed');
  }
}

/** A record of the file as a row, or its line's error (the same checks as a single payout). */
function rowFrom(line: number, fields: string[], errors: LineError[]): repo.NewRow | undefined {
  if (fields.length !== 7) {
    errors.push({ line, reason: `A row has 7 fields (merchantOrderNo,amount,currency,name,accountNo,bankCode,remark); this one has ${fields.length}`, code: 'VALIDATION_FAILED' });
    return undefined;
  }
  const [merchantOrderNo, amount, currency, name, accountNo, bankCode, remark] = fields as [string, string, string, string, string, string, string];
  try {
    const valid = validatePayoutInput({ merchantOrderNo, amount, currency, beneficiary: { name, accountNo, bankCode }, remark: remark === '' ? undefined : remark });
    return {
      line,
      merchantOrderNo: valid.merchantOrderNo,
      amountMinor: valid.amountMinor,
      currency: valid.currency,
      beneficiaryName: valid.beneficiary.name,
      beneficiaryAccountNo: valid.beneficiary.accountNo,
      beneficiaryBankCode: valid.beneficiary.bankCode,
      remark: valid.remark,
    };
  } catch (err) {
    if (!isDomainError(err)) throw err;
    errors.push({ line, reason: err.message, code: err.code });
    return undefined;
  }
}

function inputOf(row: BatchRow): PayoutInput {
  return {
    merchantOrderNo: row.merchantOrderNo,
    amount: formatMinor(row.amountMinor, row.currency),
    currency: row.currency,
    beneficiary: { name: row.beneficiaryName, accountNo: row.beneficiaryAccountNo, bankCode: row.beneficiaryBankCode },
    remark: row.remark ?? undefined,
  };
}

function duplicateInFile(line: number, merchantOrderNo: string, firstLine: number): LineError {
  return { line, reason: `merchantOrderNo ${merchantOrderNo} is on line ${firstLine} of this file already`, code: 'DUPLICATE_MERCHANT_ORDER_NO' };
}

function rowKey(row: BatchRow): { batchId: string; line: number } {
  return { batchId: row.batchId, line: row.line };
}

function sameActor(a: BatchActor, b: BatchActor): boolean {
  return a.kind === b.kind && a.id === b.id;
}

function notFound(batchId: string): DomainError {
  return new DomainError('PAYOUT_BATCH_NOT_FOUND', `No payout batch ${batchId}`);
}

async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

import { DomainError, isDomainError } from '../../platform/errors.ts';
import { crashPoint } from '../../platform/faults.ts';
import { newId } from '../../platform/ids.ts';
import { type CurrencyCode, parseMoney } from '../../platform/money/index.ts';
import type { GatewayRequest } from '../../protocol/depository.ts';
import { type DepositorySettledEvent, newRequestNo, validCallbackUrl } from '../depository/index.ts';
import type { AccountId, TransferRequest } from '../ledger/index.ts';
import type { KeyedRequest, TransactionOrder } from '../orders/index.ts';
import { assertNotRejected, type RiskReviewedEvent } from '../risk/index.ts';
import * as repo from './wallets.repository.ts';
import type { WalletsDeps, WalletUser } from './wallets.service.ts';
import { assertTransition, type DepositoryAccount, type RecordStatus, type WithdrawRecord } from './wallets.types.ts';

/** What a withdrawal request answers: the signed request for the bank, or the checks still to pass. */
export type WithdrawStarted =
  | { kind: 'gateway'; gateway: GatewayRequest }
  | { kind: 'verification'; record: WithdrawRecord; verification: readonly string[]; sms: { challengeId: string; expiresAt: Date } | null };

/** What withdrawals need of the user center: the depository account and the wallet it pays out of. */
export interface WalletLookup {
  currency: CurrencyCode;
  openedAccount(userId: string): Promise<DepositoryAccount>;
  walletIdOf(userId: string): Promise<AccountId>;
}

const WITHDRAW_SMS_PURPOSE = 'WITHDRAW';
const ORPHAN_SWEEP_PAGE = 200;

/**
 * Withdrawals (seed 000's 提现), from the request to the bank's outcome: risk
 * control, the holds on the wallet, the SMS code and the review, the signed
 * WITHDRAW, and the sweeper for holds a crash left behind.
 */
export class Withdrawals {
  private readonly currency: CurrencyCode;
  private readonly feeMinor: bigint;
  private orphanSweepAfter: { createdAt: Date; id: string } | undefined;

  constructor(
    private readonly deps: WalletsDeps,
    private readonly wallets: WalletLookup,
  ) {
    this.currency = wallets.currency;
    this.feeMinor = parseMoney(deps.depository.withdrawFee, this.currency, { allowZero: true }).amountMinor;
  }

  /**
   * POST /my/withdraw-records. Risk control first (SPEC 6): REJECT refuses it
   * (RISK_REJECTED, nothing held; the decision stays recorded). Then amount +
   * fee are held on the wallet (two linked pending transfers keyed on the
   * request number; too little available: INSUFFICIENT_FUNDS, nothing
   * created) and the record is saved. LOW risk gets its signed WITHDRAW at
   * once; MEDIUM and HIGH get an SMS code to enter first (and HIGH then waits
   * for a reviewer), and the signed request only after that. `clientKey` (the
   * request's Idempotency-Key) names its order: a retry whose first answer was
   * lost gets the withdrawal that request made, as it stands.
   */
  async create(user: WalletUser, input: { amount: string; callbackUrl: string; cardNumberMasked?: string }, clientKey?: string): Promise<WithdrawStarted> {
    const amountMinor = parseMoney(input.amount, this.currency).amountMinor;
    const asked = { userId: user.id, type: 'WITHDRAW', currency: this.currency, amountMinor, clientKey } as const;
    return this.deps.orders.startOnce(asked, () => this.start(user, input, asked), (order) => this.asItStands(order));
  }

  private async start(user: WalletUser, input: { callbackUrl: string; cardNumberMasked?: string }, asked: KeyedRequest): Promise<WithdrawStarted> {
    const account = await this.wallets.openedAccount(user.id);
    const walletId = await this.wallets.walletIdOf(user.id);
    const { amountMinor } = asked;
    const callbackUrl = validCallbackUrl(input.callbackUrl);
    const feeMinor = this.feeMinor;
    const card = await this.cardFor(user.id, input.cardNumberMasked);
    const requestNo = newRequestNo(this.deps.clock.now());
    const assessment = await this.deps.risk.assess({
      flow: 'WITHDRAW',
      subjectKind: 'USER',
      subjectId: user.id,
      amountMinor: amountMinor + feeMinor,
      currency: this.currency,
      card,
      reference: requestNo,
    });
    assertNotRejected(assessment);

    try {
      await this.deps.ledger.linkedTransfers(await this.holds(walletId, requestNo, amountMinor, feeMinor));
    } catch (err) {
      await this.deps.risk.release(assessment.decisionId);
      throw err;
    }
    const now = this.deps.clock.now();
    crashPoint('wallets.withdraw-after-hold');
    const needsCode = assessment.level !== 'LOW';
    const record: WithdrawRecord = {
      id: newId('wdr'),
      userId: user.id,
      requestNo,
      amountMinor,
      feeMinor,
      currency: this.currency,
      cardNumberMasked: card ?? null,
      status: needsCode ? 'AWAITING_VERIFICATION' : 'PENDING',
      errorCode: null,
      riskDecisionId: assessment.decisionId,
      riskLevel: assessment.level,
      smsChallengeId: null,
      callbackUrl,
      createdAt: now,
      updatedAt: now,
    };
    try {
      return await this.deps.db.transaction().execute(async (trx): Promise<WithdrawStarted> => {
        await this.deps.assertUserCanMoveMoney?.(user.id, trx);
        // The card is share-locked until this commits, so a removal waits for (and then sees) this withdrawal.
        if (!(await repo.lockActiveCard(trx, { userId: user.id, cardNumberMasked: card }, 'share'))) {
          throw new DomainError('VALIDATION_FAILED', 'That card was just removed; choose one of your bound cards (GET /my/cards)');
        }
        await this.deps.orders.open(
          {
            ...asked,
            serialNo: requestNo,
            accountId: walletId,
            transferIds: holdParts(feeMinor).flatMap((part) => [holdId(requestNo, part), `${holdId(requestNo, part)}:post`, `${holdId(requestNo, part)}:void`]),
          },
          trx,
        );
        if (!needsCode) {
          const gateway = await this.sign(account.userNo, record, trx);
          await repo.insertWithdraw(trx, record);
          return { kind: 'gateway', gateway };
        }
        const sms = await this.deps.sms.sendCode({ purpose: WITHDRAW_SMS_PURPOSE, subjectId: record.id, mobile: user.mobile }, trx);
        const saved = { ...record, smsChallengeId: sms.challengeId };
        await repo.insertWithdraw(trx, saved);
        return { kind: 'verification', record: saved, verification: assessment.verification, sms };
      });
    } catch (err) {
      // Nothing was saved, so nothing may stay held.
      await this.abandon(record).catch((releaseErr: unknown) =>
        this.deps.logger.error({ err: releaseErr, requestNo }, 'could not release the hold of a withdrawal that was not saved'),
      );
      throw err;
    }
  }

  /** What a withdrawal request answers for its saved record now: the signed request once it went to the bank, else the checks still to pass. */
  private async asItStands(order: TransactionOrder): Promise<WithdrawStarted> {
    const [record] = await repo.findRecordsByRequestNo(this.deps.db, 'withdraw', [order.serialNo]);
    if (!record) throw new Error(`withdrawal order ${order.id} has no record`);
    const gateway = await this.deps.agent.reissue(record.requestNo);
    if (gateway) return { kind: 'gateway', gateway };
    const decision = record.riskDecisionId ? await this.deps.risk.getDecision(record.riskDecisionId) : undefined;
    const verification = record.status === 'AWAITING_REVIEW' ? ['MANUAL_REVIEW'] : (decision?.verification ?? []);
    const sms = record.status === 'AWAITING_VERIFICATION' && record.smsChallengeId ? await this.deps.sms.sentCode(record.smsChallengeId) : undefined;
    return { kind: 'verification', record, verification, sms: sms ?? null };
  }

  /**
   * POST /my/withdraw-records/{id}/verification: the SMS code of a MEDIUM or
   * HIGH risk withdrawal. MEDIUM then gets its signed request; HIGH waits for a
   * reviewer (unless one already approved it).
   */
  async verify(user: WalletUser, id: string, code: string): Promise<WithdrawStarted> {
    const record = await this.userWithdraw(user.id, id);
    if (record.status !== 'AWAITING_VERIFICATION' || !record.smsChallengeId) {
      throw new DomainError('WITHDRAW_NOT_AWAITING', `This withdrawal is ${record.status}: it takes no SMS code`);
    }
    await this.deps.sms.verifyCode(record.smsChallengeId, code, { purpose: WITHDRAW_SMS_PURPOSE, subjectId: record.id });
    if (record.riskLevel !== 'HIGH') return { kind: 'gateway', gateway: await this.sendToBank(user, record) };
    const review = (await this.deps.risk.getDecision(record.riskDecisionId!)).review;
    if (review?.status === 'APPROVED') return { kind: 'gateway', gateway: await this.sendToBank(user, record) };
    if (review?.status === 'REJECTED') {
      await this.failUnsent(record, 'RISK_REJECTED');
      throw new DomainError('RISK_REJECTED', 'A reviewer refused this withdrawal; the amount is released');
    }
    const waiting = await this.move(record, 'AWAITING_REVIEW');
    return { kind: 'verification', record: waiting, verification: ['MANUAL_REVIEW'], sms: null };
  }

  /** POST /my/withdraw-records/{id}/continue: a reviewed withdrawal goes on to the bank. */
  async continue(user: WalletUser, id: string): Promise<GatewayRequest> {
    const record = await this.userWithdraw(user.id, id);
    if (record.status !== 'READY') throw new DomainError('WITHDRAW_NOT_AWAITING', `This withdrawal is ${record.status}, not READY to go to the bank`);
    return this.sendToBank(user, record);
  }

  /** Consumer of RISK_REVIEWED: a reviewer's answer on a HIGH risk withdrawal. */
  async handleReviewed(event: RiskReviewedEvent): Promise<void> {
    if (event.flow !== 'WITHDRAW') return;
    const [record] = await repo.findRecordsByRequestNo(this.deps.db, 'withdraw', [event.reference]);
    if (!record) throw new Error(`no withdraw record for reviewed request ${event.reference}`);
    if (event.outcome === 'REJECTED' && (record.status === 'AWAITING_VERIFICATION' || record.status === 'AWAITING_REVIEW')) {
      await this.failUnsent(record, 'RISK_REJECTED');
    } else if (event.outcome === 'APPROVED' && record.status === 'AWAITING_REVIEW') {
      await this.move(record, 'READY');
    }
    // Otherwise the answer came before the SMS code (verifyWithdraw reads it then) or is a replay.
  }

  /**
   * Withdrawals nobody took on to the bank within DEPOSITORY_REQUEST_TTL_S (no
   * SMS code entered, or not continued after the review) fail as
   * VERIFICATION_EXPIRED and release their hold. Answers how many.
   */
  async expireUnsent(): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - this.deps.depository.requestTtlS * 1000);
    let expired = 0;
    for (const record of await repo.unsentWithdrawsBefore(this.deps.db, before, 100)) {
      if (await this.failUnsent(record, 'VERIFICATION_EXPIRED')) expired += 1;
    }
    return expired;
  }

  /** Signs the WITHDRAW and moves the record to PENDING in one transaction. */
  private async sendToBank(user: WalletUser, record: WithdrawRecord): Promise<GatewayRequest> {
    const account = await this.wallets.openedAccount(user.id);
    return this.deps.db.transaction().execute(async (trx) => {
      await this.deps.assertUserCanMoveMoney?.(user.id, trx);
      const gateway = await this.sign(account.userNo, record, trx);
      if (!(await repo.moveWithdraw(trx, record.requestNo, record.status, 'PENDING', { now: this.deps.clock.now() }))) {
        throw new DomainError('WITHDRAW_NOT_AWAITING', 'This withdrawal was sent to the bank or closed meanwhile');
      }
      return gateway;
    });
  }

  /**
   * The agent's signed WITHDRAW. On the wire `amount` is what leaves the virtual
   * account and `fee` is kept back from what reaches the card
   * (protocol/depository.ts): the card gets exactly the amount asked for.
   */
  private sign(userNo: string, record: WithdrawRecord, trx: repo.Executor): Promise<GatewayRequest> {
    return this.deps.agent.prepare(
      'WITHDRAW',
      {
        requestNo: record.requestNo,
        userNo,
        amountMinor: record.amountMinor + record.feeMinor,
        feeMinor: record.feeMinor,
        currency: record.currency,
        callbackUrl: record.callbackUrl!,
        ...(record.cardNumberMasked ? { cardNumberMasked: record.cardNumberMasked } : {}),
      },
      trx,
    );
  }

  private async move(record: WithdrawRecord, to: RecordStatus): Promise<WithdrawRecord> {
    assertTransition(record.status, to);
    const moved = await repo.moveWithdraw(this.deps.db, record.requestNo, record.status, to, { now: this.deps.clock.now() });
    if (!moved) throw new DomainError('WITHDRAW_NOT_AWAITING', 'This withdrawal changed meanwhile; look at it again');
    return moved;
  }

  /**
   * A withdrawal that never reached the bank fails: its risk decision is
   * released with it, then its holds (left open by a crash in between, the
   * orphan sweeper voids them: their record is FAILED).
   */
  private async failUnsent(record: WithdrawRecord, errorCode: string): Promise<boolean> {
    assertTransition(record.status, 'FAILED');
    const failed = await this.deps.db.transaction().execute(async (trx) => {
      const moved = await repo.moveWithdraw(trx, record.requestNo, record.status, 'FAILED', { errorCode, now: this.deps.clock.now() });
      if (!moved) return false;
      await this.deps.orders.settle([{ type: 'WITHDRAW', serialNo: record.requestNo, status: 'FAILED', errorCode }], trx);
      if (record.riskDecisionId) await this.deps.risk.release(record.riskDecisionId, trx);
      return true;
    });
    if (failed) await this.releaseHolds(record.requestNo, holdParts(record.feeMinor));
    return failed;
  }

  private async abandon(record: WithdrawRecord): Promise<void> {
    await this.releaseHolds(record.requestNo, holdParts(record.feeMinor));
    if (record.riskDecisionId) await this.deps.risk.release(record.riskDecisionId);
  }

  private async userWithdraw(userId: string, id: string): Promise<WithdrawRecord> {
    const record = await repo.findUserWithdraw(this.deps.db, userId, id);
    if (!record) throw new DomainError('NOT_FOUND', `You have no withdrawal ${id}`);
    return record;
  }

  private async holds(walletId: AccountId, requestNo: string, amountMinor: bigint, feeMinor: bigint): Promise<TransferRequest[]> {
    const clearingId = await this.deps.ledger.platformAccountId('DEPOSITORY_CLEARING', this.currency);
    const holds: TransferRequest[] = [
      {
        id: holdId(requestNo, 'amount'),
        debitAccountId: walletId,
        creditAccountId: clearingId,
        amountMinor,
        currency: this.currency,
        code: 'withdraw',
        reference: requestNo,
        pending: {},
      },
    ];
    if (feeMinor > 0n) {
      const feeIncomeId = await this.deps.ledger.platformAccountId('FEE_INCOME', this.currency);
      holds.push({
        id: holdId(requestNo, 'fee'),
        debitAccountId: walletId,
        creditAccountId: feeIncomeId,
        amountMinor: feeMinor,
        currency: this.currency,
        code: 'fee',
        reference: requestNo,
        pending: {},
      });
    }
    return holds;
  }

  // ---- the bank's outcome, and holds left behind ----------------------------------------------

  /** The bank's outcome (through the user center's handleSettled): success posts the holds, a failure voids them. */
  async settled(record: WithdrawRecord, event: DepositorySettledEvent): Promise<void> {
    // A failed withdrawal no longer counts toward the user's risk limits either.
    if (event.status !== 'SUCCEEDED') return this.abandon(record);
    await Promise.all(
      holdParts(record.feeMinor).map((part) =>
        this.deps.ledger.postPending({ id: `${holdId(record.requestNo, part)}:post`, pendingId: holdId(record.requestNo, part), reference: record.requestNo }),
      ),
    );
  }

  /**
   * A withdrawal places its hold before it saves its record, and releases it
   * after its record failed; a crash between the two leaves a hold nothing
   * will ever settle. This job releases holds of code `withdraw` older than
   * DEPOSITORY_ORPHAN_HOLD_AFTER_S whose request number has no withdrawal
   * record, or a FAILED one. Answers how many it released.
   */
  async releaseOrphanHolds(): Promise<number> {
    const createdBefore = new Date(this.deps.clock.now().getTime() - this.deps.depository.orphanHoldAfterS * 1000);
    // Live withdrawals keep old holds too (awaiting review, a slow bank): each run takes the page
    // after the last one, and starts over from the oldest once a page comes back short.
    const holds = await this.deps.ledger.openPendingTransfers({
      code: 'withdraw',
      createdBefore,
      limit: ORPHAN_SWEEP_PAGE,
      ...(this.orphanSweepAfter ? { after: this.orphanSweepAfter } : {}),
    });
    const last = holds.at(-1);
    this.orphanSweepAfter = holds.length === ORPHAN_SWEEP_PAGE && last ? { createdAt: last.createdAt, id: last.id } : undefined;
    const requestNos = [...new Set(holds.flatMap((hold) => hold.reference ?? []))];
    const records = new Map((await repo.findRecordsByRequestNo(this.deps.db, 'withdraw', requestNos)).map((r) => [r.requestNo, r]));
    const orphans = requestNos.filter((requestNo) => (records.get(requestNo)?.status ?? 'FAILED') === 'FAILED');
    for (const requestNo of orphans) {
      this.deps.logger.warn({ requestNo }, 'releasing the hold of a withdrawal that was never saved, or failed without releasing it');
      await this.releaseHolds(requestNo, ['amount', 'fee']);
      // Never saved: its risk decision, which only the dead request knew, still counts toward the limits.
      if (!records.has(requestNo)) await this.deps.risk.releaseFor('WITHDRAW', requestNo);
    }
    return orphans.length;
  }

  private async releaseHolds(requestNo: string, parts: ('amount' | 'fee')[]): Promise<void> {
    await Promise.all(
      parts.map(async (part) => {
        try {
          await this.deps.ledger.voidPending({ id: `${holdId(requestNo, part)}:void`, pendingId: holdId(requestNo, part), reference: requestNo });
        } catch (err) {
          // A hold that was never placed (the linked group failed) has nothing to release.
          if (!isDomainError(err, 'PENDING_TRANSFER_NOT_FOUND')) throw err;
        }
      }),
    );
  }

  /**
   * The named bound card, or the user's first one; a card that is not theirs (or
   * was removed) is refused, and so is a withdrawal with no bound card at all.
   */
  private async cardFor(userId: string, named: string | undefined): Promise<string> {
    const cards = await repo.listCards(this.deps.db, userId);
    if (named === undefined) {
      if (!cards[0]) throw new DomainError('CARD_NOT_BOUND', 'You have no bound debit card: add one (POST /my/cards) before withdrawing');
      return cards[0].cardNumberMasked;
    }
    const card = cards.find((c) => c.cardNumberMasked === named);
    if (!card) throw new DomainError('VALIDATION_FAILED', 'cardNumberMasked is not one of your bound cards (GET /my/cards)');
    return card.cardNumberMasked;
  }
}

function holdId(requestNo: string, part: 'amount' | 'fee'): string {
  return `withdraw:${requestNo}:${part}`;
}

function holdParts(feeMinor: bigint): ('amount' | 'fee')[] {
  return feeMinor > 0n ? ['amount', 'fee'] : ['amount'];
}

import { createHash } from 'node:crypto';
import { Batcher, type BatcherOptions, type ItemResult } from '../../platform/batcher.ts';
import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import { currencyCode, MAX_AMOUNT_MINOR } from '../../platform/money/index.ts';
import { publish } from '../../platform/outbox/index.ts';
import * as repo from './risk.repository.ts';
import { evaluateRules, type Figures, levelOf, maskNumber, normalizeNumber, riskDayStart, verificationFor } from './risk.rules.ts';
import {
  type Assessment,
  type AssessInput,
  type BlacklistEntry,
  type BlacklistEntryId,
  type BlacklistKind,
  blacklistKinds,
  type Decision,
  type DecisionId,
  type FiredRule,
  type Flow,
  flows,
  type Page,
  raisedLevels,
  type ReviewStatus,
  reviewStatuses,
  RISK_REVIEWED,
  type RiskLevel,
  type RiskReviewedEvent,
  type Rule,
  type RuleId,
  type RuleInput,
  type RuleParams,
  type RuleType,
  ruleTypes,
  type SubjectKind,
  subjectKinds,
} from './risk.types.ts';

export interface RiskOptions {
  /** Where a risk day starts, in minutes east of UTC. Default 480 (China). */
  dayUtcOffsetMinutes: number;
}

export const DEFAULT_RISK_OPTIONS: RiskOptions = { dayUtcOffsetMinutes: 480 };

export interface RiskDeps {
  db: repo.Executor;
  clock: Clock;
  options?: Partial<RiskOptions>;
  /** Called after a review answer commits, e.g. to wake the outbox relay. */
  onReviewed?: () => void;
  /** Called after each assessment (e.g. a metric); inside a caller's transaction it may still roll back. */
  onAssessed?: (flow: Flow, level: RiskLevel) => void;
  /** Group commit of assessments made without a caller's transaction (default: up to 200 at once, one group at a time). */
  batching?: BatcherOptions;
}

/**
 * Rule types whose figures come from the subject's earlier decisions: two
 * concurrent requests must not both miss each other. (NEW_BENEFICIARY is not
 * among them: racing first uses both fire, which errs on the safe side.)
 */
const SERIALISED_RULES: ReadonlySet<RuleType> = new Set(['DAILY_AMOUNT', 'DAILY_COUNT', 'VELOCITY']);

const SUBJECT = /^[A-Za-z0-9_:-]{1,64}$/;
/** Card, account and ID numbers; `*` allows a card as Coffer knows it, masked by the bank (6222********1234). */
const NUMBER = /^[0-9A-Z*]{4,34}$/;
const MAX_TEXT = 500;
const MAX_PAGE = 200;

/**
 * Risk control (SPEC 6, seed 003 出款服务层 身份校验): blacklists that reject at
 * once, stored rules that raise a level, and the level's verification. Every
 * decision is recorded with the rules that fired; HIGH decisions wait for a
 * manual review whose answer is published on the outbox (`risk.reviewed`).
 */
export class RiskService {
  readonly options: RiskOptions;
  private readonly assessor: Batcher<ValidAssessInput, Assessment>;

  constructor(private readonly deps: RiskDeps) {
    this.options = { ...DEFAULT_RISK_OPTIONS, ...deps.options };
    this.assessor = new Batcher((requests) => this.assessTogether(requests), deps.batching ?? { maxBatch: 200, concurrency: 1 });
  }

  // ---- assessment ------------------------------------------------------------------------------

  /**
   * Decides the risk level of one money request and records the decision.
   * Pass the caller's transaction so the decision commits with the money
   * request; the subject stays locked until it ends, so a second request of the
   * same subject waits and counts this one in its daily figures. Without one,
   * the decision commits before this answers, in one transaction shared with
   * the assessments asked for at the same moment (group commit).
   * A REJECT level is returned, not thrown: `assertNotRejected` throws it.
   */
  async assess(input: AssessInput, trx?: repo.Executor): Promise<Assessment> {
    const request = validAssessInput(input);
    const assessment = trx === undefined ? await this.assessor.submit(request) : (await this.assessIn(trx, [request]))[0]!;
    this.deps.onAssessed?.(request.flow, assessment.level);
    return assessment;
  }

  /**
   * A group: the reads need no transaction (each statement reads what is
   * committed, as inside one at READ COMMITTED); without subjects to lock, the
   * decisions are one insert, atomic alone. Otherwise the locks, figures and
   * inserts share one transaction.
   */
  private async assessTogether(requests: ValidAssessInput[]): Promise<ItemResult<Assessment>[]> {
    const facts = await this.facts(this.deps.db, requests);
    const assessments = facts.serialised.some(Boolean)
      ? await this.deps.db.transaction().execute((tx) => this.decide(tx, requests, facts))
      : await this.decide(this.deps.db, requests, facts);
    return assessments.map((value) => ({ ok: true, value }));
  }

  private async assessIn(tx: repo.Executor, requests: ValidAssessInput[]): Promise<Assessment[]> {
    return this.decide(tx, requests, await this.facts(tx, requests));
  }

  /** One statement reads the blacklist hits and the enabled rules for all the requests; which of them need their subject serialised. */
  private async facts(db: repo.Executor, requests: ValidAssessInput[]): Promise<Facts> {
    const pairs = requests.map(blacklistPairs);
    const { hits, rules: enabledRules } = await repo.assessmentFacts(db, pairs.flat());
    const rules = requests.map((request) => enabledRules.filter((rule) => rule.flows.includes(request.flow)));
    const blacklisted = pairs.map((mine) => hits.filter((entry) => mine.some((pair) => pair.kind === entry.kind && pair.value === entry.value)));
    // Only rules over earlier decisions need the subject serialised; without them
    // (e.g. the default payout rules) a busy merchant's requests do not queue.
    const serialised = requests.map((_, i) => blacklisted[i]!.length === 0 && rules[i]!.some((r) => SERIALISED_RULES.has(r.type)));
    return { rules, blacklisted, serialised };
  }

  /**
   * Decides and records, answering in the requests' order; the decisions not
   * serialised go in one statement. A request under a rule over earlier
   * decisions locks its subject and has its decision written before the next
   * one's figures are read; those go in subject order, so two groups never
   * wait for each other in a circle.
   */
  private async decide(tx: repo.Executor, requests: ValidAssessInput[], facts: Facts): Promise<Assessment[]> {
    const assessments: Assessment[] = new Array(requests.length);
    const unlocked: repo.NewDecision[] = [];
    const serialised: number[] = [];
    const startedAt = this.deps.clock.now();
    for (const [i, request] of requests.entries()) {
      if (facts.serialised[i]) {
        serialised.push(i);
        continue;
      }
      const blacklisted = facts.blacklisted[i]!;
      const rules = facts.rules[i]!;
      const fired = blacklisted.length > 0 ? blacklistFired(blacklisted) : evaluateRules(rules, await this.figures(tx, request, rules, startedAt));
      const decision = this.newDecision(request, fired, startedAt);
      unlocked.push(decision);
      assessments[i] = assessmentOf(decision);
    }
    const subjectOf = (i: number) => `${requests[i]!.subjectKind}:${requests[i]!.subjectId}`;
    serialised.sort((a, b) => (subjectOf(a) < subjectOf(b) ? -1 : subjectOf(a) > subjectOf(b) ? 1 : a - b));
    for (const i of serialised) {
      const request = requests[i]!;
      const rules = facts.rules[i]!;
      await repo.lockSubject(tx, request.subjectKind, request.subjectId, this.deps.clock.now());
      const now = this.deps.clock.now(); // the figures and the decision's time are taken after the wait
      const decision = this.newDecision(request, evaluateRules(rules, await this.figures(tx, request, rules, now)), now);
      await repo.insertDecisions(tx, [decision]);
      assessments[i] = assessmentOf(decision);
    }
    await repo.insertDecisions(tx, unlocked);
    return assessments;
  }

  private newDecision(request: ValidAssessInput, fired: FiredRule[], now: Date): repo.NewDecision {
    const level = levelOf(fired);
    return {
      id: newId('rsk') as DecisionId,
      flow: request.flow,
      subjectKind: request.subjectKind,
      subjectId: request.subjectId,
      amountMinor: request.amountMinor,
      currency: request.currency,
      reference: request.reference,
      level,
      firedRules: fired,
      verification: verificationFor(level),
      inputs: {
        idNumber: request.idNumber === undefined ? null : maskNumber(request.idNumber),
        card: request.card === undefined ? null : maskNumber(request.card),
        beneficiaryAccount: request.beneficiaryAccount === undefined ? null : maskNumber(request.beneficiaryAccount),
      },
      instrumentHash: request.instrument === undefined ? null : instrumentHash(request.instrument),
      now,
    };
  }

  /** The figures the enabled rules need, from the risk module's own tables only. */
  private async figures(tx: repo.Executor, request: ValidAssessInput, rules: Rule[], now: Date): Promise<Figures> {
    const windows = [...new Set(rules.flatMap((r) => (r.type === 'VELOCITY' ? [r.windowMinutes] : [])))];
    let figures = { todayCount: 0, todayAmountMinor: 0n, windowCounts: [] as number[] };
    if (windows.length > 0 || rules.some((r) => r.type === 'DAILY_AMOUNT' || r.type === 'DAILY_COUNT')) {
      figures = await repo.figuresSince(tx, {
        subjectKind: request.subjectKind,
        subjectId: request.subjectId,
        flow: request.flow,
        currency: request.currency,
        dayStart: riskDayStart(now, this.options.dayUtcOffsetMinutes),
        windowStarts: windows.map((minutes) => new Date(now.getTime() - minutes * 60_000)),
      });
    }
    const recentCount = new Map(windows.map((minutes, i) => [minutes, figures.windowCounts[i] ?? 0]));
    let beneficiaryKnown: boolean | undefined;
    if (request.instrument !== undefined && rules.some((r) => r.type === 'NEW_BENEFICIARY')) {
      beneficiaryKnown = await repo.instrumentKnown(tx, request.subjectKind, request.subjectId, instrumentHash(request.instrument));
    }
    return { amountMinor: request.amountMinor, currency: request.currency, todayCount: figures.todayCount, todayAmountMinor: figures.todayAmountMinor, recentCount, beneficiaryKnown };
  }

  /**
   * Takes a decision out of the daily and velocity figures (the money request
   * failed or was cancelled); a pending review is cancelled with it. Safe to
   * repeat; a REJECT decision was never counted and is returned unchanged.
   */
  async release(decisionId: string, trx?: repo.Executor): Promise<Decision> {
    const db = trx ?? this.deps.db;
    const released = isId(decisionId, 'rsk') ? await repo.releaseDecision(db, decisionId, this.deps.clock.now()) : undefined;
    return released ?? (await this.getDecision(decisionId, db));
  }

  /**
   * Releases what was decided for `reference` in `flow`: for a request that
   * died between its assessment and saving it, whose decision id nobody kept.
   */
  releaseFor(flow: Flow, reference: string): Promise<number> {
    return repo.releaseDecisionsFor(this.deps.db, flow, reference, this.deps.clock.now());
  }

  async getDecision(decisionId: string, db: repo.Executor = this.deps.db): Promise<Decision> {
    const decision = isId(decisionId, 'rsk') ? await repo.findDecision(db, decisionId) : undefined;
    if (!decision) throw new DomainError('RISK_DECISION_NOT_FOUND', `No risk decision ${decisionId}`);
    return decision;
  }

  /** Newest first. */
  async listDecisions(options: { subjectId?: string; subjectKind?: SubjectKind; level?: RiskLevel; limit?: number; startingAfter?: string } = {}): Promise<Page<Decision>> {
    const limit = pageSize(options.limit);
    const rows = await repo.listDecisions(this.deps.db, options, limit + 1, options.startingAfter);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  // ---- manual review ---------------------------------------------------------------------------

  /** Oldest first (a queue); PENDING by default. */
  async listReviews(options: { status?: ReviewStatus; limit?: number; startingAfter?: string } = {}): Promise<Page<Decision>> {
    const status = options.status ?? 'PENDING';
    if (!reviewStatuses.includes(status)) throw new DomainError('VALIDATION_FAILED', `status must be one of ${reviewStatuses.join(', ')}`);
    const limit = pageSize(options.limit);
    const rows = await repo.listReviews(this.deps.db, status, limit + 1, options.startingAfter);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * A reviewer's final answer to a HIGH decision, once: the guarded update and
   * the `risk.reviewed` outbox message commit together. The same answer again
   * returns the decision unchanged (a retry); the other answer afterwards is
   * RISK_REVIEW_ALREADY_DECIDED. A rejection releases the decision.
   */
  async review(decisionId: string, outcome: 'APPROVED' | 'REJECTED', by: { reviewer: string; note: string }): Promise<Decision> {
    const note = by.note.trim();
    if (note.length === 0 || note.length > MAX_TEXT) throw new DomainError('VALIDATION_FAILED', `A review needs a note of 1-${MAX_TEXT} characters`);
    const answered = await this.deps.db.transaction().execute(async (tx) => {
      const now = this.deps.clock.now();
      const decision = isId(decisionId, 'rsk') ? await repo.answerReview(tx, { id: decisionId, outcome, reviewer: by.reviewer, note, now }) : undefined;
      if (!decision) return undefined;
      const event: RiskReviewedEvent = {
        decisionId: decision.id,
        outcome,
        flow: decision.flow,
        subjectKind: decision.subjectKind,
        subjectId: decision.subjectId,
        reference: decision.reference,
        reviewedBy: by.reviewer,
        note,
        reviewedAt: now.toISOString(),
      };
      await publish(tx, { topic: RISK_REVIEWED, key: decision.id, payload: event });
      return decision;
    });
    if (answered) {
      this.deps.onReviewed?.();
      return answered;
    }
    const current = await this.getDecision(decisionId);
    if (current.review === null) throw new DomainError('RISK_NOT_UNDER_REVIEW', `Decision ${decisionId} is ${current.level}: only HIGH decisions are reviewed`);
    if (current.review.status === outcome) return current;
    throw new DomainError('RISK_REVIEW_ALREADY_DECIDED', `The review of ${decisionId} is already ${current.review.status}`, { reviewStatus: current.review.status });
  }

  // ---- rules -----------------------------------------------------------------------------------

  async listRules(flow?: Flow): Promise<Rule[]> {
    if (flow !== undefined && !flows.includes(flow)) throw new DomainError('VALIDATION_FAILED', `flow must be one of ${flows.join(', ')}`);
    return repo.listRules(this.deps.db, { flow });
  }

  async getRule(id: string): Promise<Rule> {
    const rule = await repo.findRule(this.deps.db, id);
    if (!rule) throw new DomainError('RISK_RULE_NOT_FOUND', `No risk rule ${id}`);
    return rule;
  }

  /** Every change below writes its audit row (who, when, the rule as it then was) in the same transaction. */
  async createRule(input: RuleInput, actor: string): Promise<Rule> {
    const rule = validRule(input);
    return this.deps.db.transaction().execute(async (tx) => {
      const now = this.deps.clock.now();
      const created = await repo.insertRule(tx, newId('rrl') as RuleId, { ...rule, actor, now });
      await repo.insertRuleChange(tx, { id: newId('rrc'), rule: created, action: 'CREATED', actor, now });
      return created;
    });
  }

  /** Replaces a rule; with `expectedVersion`, only if nobody changed it since (else RISK_RULE_VERSION_CONFLICT). */
  async updateRule(id: string, input: RuleInput, actor: string, expectedVersion?: number): Promise<Rule> {
    const rule = validRule(input);
    const updated = await this.deps.db.transaction().execute(async (tx) => {
      const now = this.deps.clock.now();
      const changed = await repo.updateRule(tx, id, { ...rule, actor, now }, expectedVersion);
      if (changed) await repo.insertRuleChange(tx, { id: newId('rrc'), rule: changed, action: 'UPDATED', actor, now });
      return changed;
    });
    if (updated) return updated;
    const current = await this.getRule(id);
    throw new DomainError('RISK_RULE_VERSION_CONFLICT', `Rule ${id} is at version ${current.version}, not ${expectedVersion}`, { version: current.version });
  }

  async deleteRule(id: string, actor: string): Promise<void> {
    const deleted = await this.deps.db.transaction().execute(async (tx) => {
      const rule = await repo.deleteRuleReturning(tx, id);
      if (rule) await repo.insertRuleChange(tx, { id: newId('rrc'), rule, action: 'DELETED', actor, now: this.deps.clock.now() });
      return rule;
    });
    if (!deleted) throw new DomainError('RISK_RULE_NOT_FOUND', `No risk rule ${id}`);
  }

  /** The audit trail of one rule, oldest first (also after it was deleted). */
  async ruleHistory(id: string): Promise<repo.RuleChangeRow[]> {
    const changes = await repo.listRuleChanges(this.deps.db, id);
    if (changes.length === 0) throw new DomainError('RISK_RULE_NOT_FOUND', `No risk rule ${id}, now or before`);
    return changes;
  }

  // ---- blacklist -------------------------------------------------------------------------------

  /** Adds an entry; an active entry of the same kind and value is returned instead (`created: false`). */
  async addToBlacklist(input: { kind: BlacklistKind; value: string; reason: string }, actor: string): Promise<{ entry: BlacklistEntry; created: boolean }> {
    if (!blacklistKinds.includes(input.kind)) throw new DomainError('VALIDATION_FAILED', `kind must be one of ${blacklistKinds.join(', ')}`);
    const value = blacklistValue(input.kind, input.value);
    const reason = input.reason.trim();
    if (reason.length === 0 || reason.length > MAX_TEXT) throw new DomainError('VALIDATION_FAILED', `reason must be 1-${MAX_TEXT} characters`);
    const now = this.deps.clock.now();
    const id = newId('rbl') as BlacklistEntryId;
    const inserted = await repo.insertBlacklistEntry(this.deps.db, { id, kind: input.kind, value, reason, actor, now });
    if (inserted) return { entry: inserted, created: true };
    const existing = await repo.findActiveBlacklistEntry(this.deps.db, input.kind, value);
    if (existing) return { entry: existing, created: false };
    return this.addToBlacklist(input, actor); // removed in between: try again
  }

  async listBlacklist(options: { kind?: BlacklistKind; value?: string; limit?: number; startingAfter?: string } = {}): Promise<Page<BlacklistEntry>> {
    const limit = pageSize(options.limit);
    const values = options.value === undefined ? undefined : searchValues(options.kind, options.value);
    const rows = await repo.listBlacklist(this.deps.db, { kind: options.kind, values }, limit + 1, options.startingAfter);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Soft removal (who and when are kept); removing a removed entry again is harmless. */
  async removeFromBlacklist(id: string, actor: string): Promise<BlacklistEntry> {
    const removed = await repo.removeBlacklistEntry(this.deps.db, id, actor, this.deps.clock.now());
    if (removed) return removed;
    const entry = await repo.findBlacklistEntry(this.deps.db, id);
    if (!entry) throw new DomainError('RISK_BLACKLIST_ENTRY_NOT_FOUND', `No blacklist entry ${id}`);
    return entry;
  }
}

function blacklistFired(entries: BlacklistEntry[]): FiredRule[] {
  return entries.map((entry) => ({
    ruleId: entry.id,
    name: `Blacklisted ${entry.kind}`,
    type: 'BLACKLIST',
    level: 'REJECT',
    version: null,
    detail: `${entry.kind} ${entry.kind === 'USER' || entry.kind === 'MERCHANT' ? entry.value : maskNumber(entry.value)} is blacklisted: ${entry.reason}`,
  }));
}

function assessmentOf(d: repo.NewDecision): Assessment {
  return { decisionId: d.id, level: d.level, firedRules: d.firedRules, verification: d.verification };
}

/** For the owning flow: REJECT becomes a RISK_REJECTED error naming the decision. */
export function assertNotRejected(assessment: Assessment): void {
  if (assessment.level === 'REJECT') {
    const reasons = assessment.firedRules.filter((r) => r.level === 'REJECT').map((r) => r.name);
    throw new DomainError('RISK_REJECTED', `Refused by risk control (${reasons.join('; ')})`, { decisionId: assessment.decisionId });
  }
}

/** What a group's reads found, per request. */
interface Facts {
  rules: Rule[][];
  blacklisted: BlacklistEntry[][];
  serialised: boolean[];
}

interface ValidAssessInput {
  flow: Flow;
  subjectKind: SubjectKind;
  subjectId: string;
  amountMinor: bigint;
  currency: ReturnType<typeof currencyCode>;
  reference: string;
  idNumber: string | undefined;
  card: string | undefined;
  beneficiaryAccount: string | undefined;
  /** The card (withdrawals) or beneficiary account the money goes to. */
  instrument: string | undefined;
}

function validAssessInput(input: AssessInput): ValidAssessInput {
  if (!flows.includes(input.flow)) throw new DomainError('VALIDATION_FAILED', `flow must be one of ${flows.join(', ')}`);
  if (!subjectKinds.includes(input.subjectKind)) throw new DomainError('VALIDATION_FAILED', `subjectKind must be one of ${subjectKinds.join(', ')}`);
  if (typeof input.subjectId !== 'string' || !SUBJECT.test(input.subjectId)) throw new DomainError('VALIDATION_FAILED', 'subjectId must be 1-64 letters, digits, _, : or -');
  if (typeof input.amountMinor !== 'bigint' || input.amountMinor <= 0n || input.amountMinor > MAX_AMOUNT_MINOR) {
    throw new DomainError('INVALID_AMOUNT', 'amountMinor must be a positive bigint within the largest amount');
  }
  if (typeof input.reference !== 'string' || input.reference.length === 0 || input.reference.length > 128) {
    throw new DomainError('VALIDATION_FAILED', 'reference must be 1-128 characters');
  }
  const number = (value: string | undefined, name: string) => {
    if (value === undefined) return undefined;
    const normalized = normalizeNumber(value);
    if (!NUMBER.test(normalized)) throw new DomainError('VALIDATION_FAILED', `${name} must be 4-34 letters, digits or * (a masked card)`);
    return normalized;
  };
  const card = number(input.card, 'card');
  const beneficiaryAccount = number(input.beneficiaryAccount, 'beneficiaryAccount');
  return {
    flow: input.flow,
    subjectKind: input.subjectKind,
    subjectId: input.subjectId,
    amountMinor: input.amountMinor,
    currency: currencyCode(input.currency),
    reference: input.reference,
    idNumber: number(input.idNumber, 'idNumber'),
    card,
    beneficiaryAccount,
    instrument: input.flow === 'WITHDRAW' ? (card ?? beneficiaryAccount) : (beneficiaryAccount ?? card),
  };
}

/**
 * The (kind, value) pairs a request is checked against. A number blacklisted as
 * a CARD is also refused as a BENEFICIARY_ACCOUNT and the other way round: it
 * is the same bank account either way.
 */
function blacklistPairs(r: ValidAssessInput): { kind: BlacklistKind; value: string }[] {
  const pairs: { kind: BlacklistKind; value: string }[] = [{ kind: r.subjectKind, value: r.subjectId }];
  if (r.idNumber !== undefined) pairs.push({ kind: 'ID_NUMBER', value: r.idNumber });
  for (const number of [r.card, r.beneficiaryAccount]) {
    if (number === undefined) continue;
    pairs.push({ kind: 'CARD', value: number }, { kind: 'BENEFICIARY_ACCOUNT', value: number });
  }
  return pairs;
}

function instrumentHash(number: string): string {
  return createHash('sha256').update(`instrument:${number}`).digest('hex');
}

function blacklistValue(kind: BlacklistKind, raw: string): string {
  if (typeof raw !== 'string') throw new DomainError('VALIDATION_FAILED', 'value must be a string');
  if (kind === 'USER' || kind === 'MERCHANT') {
    const id = raw.trim();
    if (!SUBJECT.test(id)) throw new DomainError('VALIDATION_FAILED', `A ${kind} entry's value is the ${kind.toLowerCase()} id`);
    return id;
  }
  const number = normalizeNumber(raw);
  if (!NUMBER.test(number)) throw new DomainError('VALIDATION_FAILED', `A ${kind} entry's value must be 4-34 letters, digits or * (a masked card)`);
  return number;
}

/** The stored forms a searched value may have: an id as typed, a number normalized; both when the kind is not given. */
function searchValues(kind: BlacklistKind | undefined, value: string): string[] {
  const id = value.trim();
  const number = normalizeNumber(value);
  if (kind === 'USER' || kind === 'MERCHANT') return [id];
  if (kind !== undefined) return [number];
  return id === number ? [id] : [id, number];
}

function pageSize(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? 50, 1), MAX_PAGE);
}

const MAX_COUNT = 1_000_000;
const MAX_WINDOW_MINUTES = 7 * 24 * 60;

function validRule(input: RuleInput): { name: string; flows: Flow[]; level: RuleInput['level']; enabled: boolean; params: RuleParams } {
  const errors: { path: string; message: string }[] = [];
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > 100) errors.push({ path: '/name', message: 'must be 1-100 characters' });
  const ruleFlows = [...new Set(input.flows)];
  if (ruleFlows.length === 0 || ruleFlows.some((f) => !flows.includes(f))) errors.push({ path: '/flows', message: `must be one or more of ${flows.join(', ')}` });
  if (!raisedLevels.includes(input.level as never)) errors.push({ path: '/level', message: `must be one of ${raisedLevels.join(', ')}` });
  const p = input.params;
  if (!ruleTypes.includes(p?.type)) {
    errors.push({ path: '/type', message: `must be one of ${ruleTypes.join(', ')}` });
  } else {
    if ((p.type === 'AMOUNT_THRESHOLD' || p.type === 'DAILY_AMOUNT') && !(p.thresholdMinor > 0n)) {
      errors.push({ path: '/params/amount', message: 'must be greater than zero' });
    }
    if ((p.type === 'DAILY_COUNT' || p.type === 'VELOCITY') && !(Number.isInteger(p.count) && p.count >= 1 && p.count <= MAX_COUNT)) {
      errors.push({ path: '/params/count', message: `must be a whole number 1-${MAX_COUNT}` });
    }
    if (p.type === 'VELOCITY' && !(Number.isInteger(p.windowMinutes) && p.windowMinutes >= 1 && p.windowMinutes <= MAX_WINDOW_MINUTES)) {
      errors.push({ path: '/params/windowMinutes', message: `must be a whole number 1-${MAX_WINDOW_MINUTES}` });
    }
  }
  if (errors.length > 0) {
    throw new DomainError('VALIDATION_FAILED', `The rule has ${errors.length} problem${errors.length === 1 ? '' : 's'}`, { errors });
  }
  return { name, flows: ruleFlows, level: input.level, enabled: input.enabled ?? true, params: p };
}

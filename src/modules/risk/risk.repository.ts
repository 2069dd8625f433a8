import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { CurrencyCode } from '../../platform/money/index.ts';
import type {
  BlacklistEntry,
  BlacklistEntryId,
  BlacklistKind,
  Decision,
  DecisionId,
  FiredRule,
  Flow,
  ReviewStatus,
  RiskLevel,
  Rule,
  RuleId,
  RuleParams,
  SubjectKind,
  VerificationStep,
} from './risk.types.ts';

/** SQL only. Every statement runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

// ---- rules -------------------------------------------------------------------------------------

interface RuleRow {
  id: RuleId;
  name: string;
  type: Rule['type'];
  flows: Flow[];
  level: Rule['level'];
  enabled: boolean;
  thresholdMinor: bigint | null;
  currency: string | null;
  count: number | null;
  windowMinutes: number | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
}

const ruleColumns = sql`
  id, name, type, flows, level, enabled, threshold_minor as "thresholdMinor", currency, count,
  window_minutes as "windowMinutes", version, created_at as "createdAt", updated_at as "updatedAt", updated_by as "updatedBy"`;

function toRule(row: RuleRow): Rule {
  const base = {
    id: row.id,
    name: row.name,
    flows: row.flows,
    level: row.level,
    enabled: row.enabled,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
  switch (row.type) {
    case 'AMOUNT_THRESHOLD':
    case 'DAILY_AMOUNT':
      return { ...base, type: row.type, thresholdMinor: row.thresholdMinor!, currency: row.currency as CurrencyCode };
    case 'DAILY_COUNT':
      return { ...base, type: row.type, count: row.count! };
    case 'VELOCITY':
      return { ...base, type: row.type, count: row.count!, windowMinutes: row.windowMinutes! };
    case 'NEW_BENEFICIARY':
      return { ...base, type: row.type };
  }
}

function paramColumns(params: RuleParams) {
  return {
    thresholdMinor: 'thresholdMinor' in params ? params.thresholdMinor.toString() : null,
    currency: 'currency' in params ? params.currency : null,
    count: 'count' in params ? params.count : null,
    windowMinutes: 'windowMinutes' in params ? params.windowMinutes : null,
  };
}

export interface RuleWrite {
  name: string;
  flows: Flow[];
  level: Rule['level'];
  enabled: boolean;
  params: RuleParams;
  actor: string;
  now: Date;
}

export async function insertRule(db: Executor, id: RuleId, rule: RuleWrite): Promise<Rule> {
  const p = paramColumns(rule.params);
  const { rows } = await sql<RuleRow>`
    insert into risk_rules (id, name, type, flows, level, enabled, threshold_minor, currency, count, window_minutes, version, created_at, updated_at, updated_by)
    values (${id}, ${rule.name}, ${rule.params.type}, string_to_array(${rule.flows.join(',')}, ','), ${rule.level}, ${rule.enabled},
      ${p.thresholdMinor}::int8, ${p.currency}, ${p.count}::int4, ${p.windowMinutes}::int4, 1, ${rule.now}, ${rule.now}, ${rule.actor})
    returning ${ruleColumns}`.execute(db);
  return toRule(rows[0]!);
}

/** Replaces the rule if it is at `expectedVersion` (any version when undefined); undefined when not. */
export async function updateRule(db: Executor, id: string, rule: RuleWrite, expectedVersion: number | undefined): Promise<Rule | undefined> {
  const p = paramColumns(rule.params);
  const { rows } = await sql<RuleRow>`
    update risk_rules set name = ${rule.name}, type = ${rule.params.type}, flows = string_to_array(${rule.flows.join(',')}, ','),
      level = ${rule.level}, enabled = ${rule.enabled}, threshold_minor = ${p.thresholdMinor}::int8, currency = ${p.currency},
      count = ${p.count}::int4, window_minutes = ${p.windowMinutes}::int4, version = version + 1,
      updated_at = ${rule.now}, updated_by = ${rule.actor}
    where id = ${id} ${expectedVersion === undefined ? sql`` : sql`and version = ${expectedVersion}`}
    returning ${ruleColumns}`.execute(db);
  return rows[0] ? toRule(rows[0]) : undefined;
}

export async function findRule(db: Executor, id: string): Promise<Rule | undefined> {
  const { rows } = await sql<RuleRow>`select ${ruleColumns} from risk_rules where id = ${id}`.execute(db);
  return rows[0] ? toRule(rows[0]) : undefined;
}

export async function listRules(db: Executor, filter: { flow?: Flow | undefined; enabledOnly?: boolean }): Promise<Rule[]> {
  const { rows } = await sql<RuleRow>`
    select ${ruleColumns} from risk_rules
    where ${filter.flow === undefined ? sql`true` : sql`${filter.flow} = any(flows)`}
      and ${filter.enabledOnly ? sql`enabled` : sql`true`}
    order by id`.execute(db);
  return rows.map(toRule);
}

export interface RuleChangeRow {
  id: string;
  ruleId: string;
  version: number;
  action: 'CREATED' | 'UPDATED' | 'DELETED';
  actor: string;
  rule: Record<string, unknown>;
  createdAt: Date;
}

/** The rule as an audit snapshot: plain JSON, money in minor units as a string. */
function snapshot(rule: Rule): Record<string, unknown> {
  const { createdAt: _c, updatedAt: _u, ...rest } = rule;
  return JSON.parse(JSON.stringify(rest, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))) as Record<string, unknown>;
}

export async function insertRuleChange(db: Executor, c: { id: string; rule: Rule; action: RuleChangeRow['action']; actor: string; now: Date }): Promise<void> {
  await sql`
    insert into risk_rule_changes (id, rule_id, version, action, actor, rule, created_at)
    values (${c.id}, ${c.rule.id}, ${c.rule.version}, ${c.action}, ${c.actor}, ${JSON.stringify(snapshot(c.rule))}::jsonb, ${c.now})`.execute(db);
}

export async function listRuleChanges(db: Executor, ruleId: string): Promise<RuleChangeRow[]> {
  const { rows } = await sql<RuleChangeRow>`
    select id, rule_id as "ruleId", version, action, actor, rule, created_at as "createdAt"
    from risk_rule_changes where rule_id = ${ruleId} order by id`.execute(db);
  return rows.map((row) => ({ ...row, rule: json(row.rule) }));
}

/** Deletes the rule and returns it as it was; undefined if there was none. */
export async function deleteRuleReturning(db: Executor, id: string): Promise<Rule | undefined> {
  const { rows } = await sql<RuleRow>`delete from risk_rules where id = ${id} returning ${ruleColumns}`.execute(db);
  return rows[0] ? toRule(rows[0]) : undefined;
}

// ---- blacklist ---------------------------------------------------------------------------------

const blacklistColumns = sql`
  id, kind, value, reason, created_by as "createdBy", created_at as "createdAt", removed_by as "removedBy", removed_at as "removedAt"`;

/** Adds the entry unless an active one of this (kind, value) exists; undefined then. */
export async function insertBlacklistEntry(
  db: Executor,
  e: { id: BlacklistEntryId; kind: BlacklistKind; value: string; reason: string; actor: string; now: Date },
): Promise<BlacklistEntry | undefined> {
  const { rows } = await sql<BlacklistEntry>`
    insert into risk_blacklist (id, kind, value, reason, created_by, created_at)
    values (${e.id}, ${e.kind}, ${e.value}, ${e.reason}, ${e.actor}, ${e.now})
    on conflict (kind, value) where removed_at is null do nothing
    returning ${blacklistColumns}`.execute(db);
  return rows[0];
}

export async function findActiveBlacklistEntry(db: Executor, kind: BlacklistKind, value: string): Promise<BlacklistEntry | undefined> {
  const { rows } = await sql<BlacklistEntry>`
    select ${blacklistColumns} from risk_blacklist where kind = ${kind} and value = ${value} and removed_at is null`.execute(db);
  return rows[0];
}

export async function findBlacklistEntry(db: Executor, id: string): Promise<BlacklistEntry | undefined> {
  const { rows } = await sql<BlacklistEntry>`select ${blacklistColumns} from risk_blacklist where id = ${id}`.execute(db);
  return rows[0];
}

export async function removeBlacklistEntry(db: Executor, id: string, actor: string, now: Date): Promise<BlacklistEntry | undefined> {
  const { rows } = await sql<BlacklistEntry>`
    update risk_blacklist set removed_at = ${now}, removed_by = ${actor}
    where id = ${id} and removed_at is null returning ${blacklistColumns}`.execute(db);
  return rows[0];
}

export async function listBlacklist(
  db: Executor,
  filter: { kind?: BlacklistKind | undefined; values?: string[] | undefined },
  limit: number,
  startingAfter: string | undefined,
): Promise<BlacklistEntry[]> {
  const { rows } = await sql<BlacklistEntry>`
    select ${blacklistColumns} from risk_blacklist
    where removed_at is null
      and ${filter.kind === undefined ? sql`true` : sql`kind = ${filter.kind}`}
      and ${filter.values === undefined || filter.values.length === 0 ? sql`true` : sql`value in (${sql.join(filter.values)})`}
      and ${startingAfter === undefined ? sql`true` : sql`id > ${startingAfter}`}
    order by id limit ${limit}`.execute(db);
  return rows;
}

/** Active entries matching any of the (kind, value) pairs. */
/**
 * What a group of assessments reads, in one statement: the active blacklist entries among `pairs`
 * (by id) and the enabled rules (as `listRules(db, { enabledOnly: true })`).
 */
export async function assessmentFacts(
  db: Executor,
  pairs: { kind: BlacklistKind; value: string }[],
): Promise<{ hits: BlacklistEntry[]; rules: Rule[] }> {
  const conditions = pairs.length === 0 ? sql`false` : sql.join(pairs.map((p) => sql`(b.kind = ${p.kind} and b.value = ${p.value})`), sql` or `);
  const { rows } = await sql<RuleRow & { hits: BlacklistJson[] | null }>`
    select h.hits, r.id, r.name, r.type, r.flows, r.level, r.enabled, r.threshold_minor as "thresholdMinor", r.currency, r.count,
      r.window_minutes as "windowMinutes", r.version, r.created_at as "createdAt", r.updated_at as "updatedAt", r.updated_by as "updatedBy"
    from (
      select json_agg(json_build_object('id', b.id, 'kind', b.kind, 'value', b.value, 'reason', b.reason, 'createdBy', b.created_by,
        'createdAtMs', floor(extract(epoch from b.created_at) * 1000)::int8) order by b.id) as hits
      from risk_blacklist b where b.removed_at is null and (${conditions})) h
    left join risk_rules r on r.enabled
    order by r.id`.execute(db);
  const hits = (rows[0]?.hits ?? []).map(
    (h): BlacklistEntry => ({ id: h.id, kind: h.kind, value: h.value, reason: h.reason, createdBy: h.createdBy, createdAt: new Date(h.createdAtMs), removedBy: null, removedAt: null }),
  );
  return { hits, rules: rows.filter((row) => row.id !== null).map(toRule) };
}

/** A blacklist entry as `json_build_object` gives it (active, so never removed). */
interface BlacklistJson {
  id: BlacklistEntryId;
  kind: BlacklistKind;
  value: string;
  reason: string;
  createdBy: string;
  createdAtMs: number;
}

// ---- subjects and figures ----------------------------------------------------------------------

/**
 * Upserts the subject's row, which row-locks it until the caller's transaction
 * ends: assessments of one subject queue here, so each sees the decisions
 * committed before it.
 */
export async function lockSubject(db: Executor, subjectKind: SubjectKind, subjectId: string, now: Date): Promise<void> {
  await sql`
    insert into risk_subjects (subject_kind, subject_id, assessments, last_assessed_at)
    values (${subjectKind}, ${subjectId}, 1, ${now})
    on conflict (subject_kind, subject_id) do update
      set assessments = risk_subjects.assessments + 1, last_assessed_at = excluded.last_assessed_at`.execute(db);
}

/**
 * In one statement: counted decisions of one subject and flow since `dayStart`
 * (count, and sum in `currency`), and the count since each of `windowStarts`.
 */
export async function figuresSince(
  db: Executor,
  s: { subjectKind: SubjectKind; subjectId: string; flow: Flow; currency: string; dayStart: Date; windowStarts: Date[] },
): Promise<{ todayCount: number; todayAmountMinor: bigint; windowCounts: number[] }> {
  const from = [s.dayStart, ...s.windowStarts].reduce((a, b) => (a < b ? a : b));
  const windows = s.windowStarts.map((since, i) => sql`count(*) filter (where created_at >= ${since})::int4 as ${sql.ref(`w${i}`)}`);
  const { rows } = await sql<Record<string, number | bigint | string>>`
    select count(*) filter (where created_at >= ${s.dayStart})::int4 as "todayCount",
      coalesce(sum(amount_minor) filter (where created_at >= ${s.dayStart} and currency = ${s.currency}), 0)::int8 as "todayAmountMinor"
      ${windows.length > 0 ? sql`, ${sql.join(windows)}` : sql``}
    from risk_decisions
    where subject_kind = ${s.subjectKind} and subject_id = ${s.subjectId} and flow = ${s.flow}
      and created_at >= ${from} and level <> 'REJECT' and released_at is null`.execute(db);
  const row = rows[0]!;
  return {
    todayCount: Number(row.todayCount),
    todayAmountMinor: BigInt(row.todayAmountMinor!),
    windowCounts: s.windowStarts.map((_, i) => Number(row[`w${i}`])),
  };
}

/** Whether this subject has a counted decision with this card or account (by hash). */
export async function instrumentKnown(db: Executor, subjectKind: SubjectKind, subjectId: string, instrumentHash: string): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    select id from risk_decisions
    where subject_kind = ${subjectKind} and subject_id = ${subjectId} and instrument_hash = ${instrumentHash}
      and level <> 'REJECT' and released_at is null
    limit 1`.execute(db);
  return rows.length === 1;
}

// ---- decisions ---------------------------------------------------------------------------------

interface DecisionRow {
  id: DecisionId;
  flow: Flow;
  subjectKind: SubjectKind;
  subjectId: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  reference: string;
  level: RiskLevel;
  firedRules: FiredRule[];
  verification: VerificationStep[];
  inputs: Record<string, string | null>;
  reviewStatus: ReviewStatus | null;
  reviewedBy: string | null;
  reviewNote: string | null;
  reviewedAt: Date | null;
  releasedAt: Date | null;
  createdAt: Date;
}

const decisionColumns = sql`
  id, flow, subject_kind as "subjectKind", subject_id as "subjectId", amount_minor as "amountMinor", currency, reference, level,
  fired_rules as "firedRules", verification, inputs, review_status as "reviewStatus", reviewed_by as "reviewedBy",
  review_note as "reviewNote", reviewed_at as "reviewedAt", released_at as "releasedAt", created_at as "createdAt"`;

function json<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

function toDecision(row: DecisionRow): Decision {
  return {
    id: row.id,
    flow: row.flow,
    subjectKind: row.subjectKind,
    subjectId: row.subjectId,
    amountMinor: BigInt(row.amountMinor),
    currency: row.currency,
    reference: row.reference,
    level: row.level,
    firedRules: json(row.firedRules),
    verification: json(row.verification),
    inputs: json(row.inputs),
    review: row.reviewStatus === null ? null : { status: row.reviewStatus, reviewedBy: row.reviewedBy, note: row.reviewNote, reviewedAt: row.reviewedAt },
    releasedAt: row.releasedAt,
    createdAt: row.createdAt,
  };
}

export interface NewDecision {
  id: DecisionId;
  flow: Flow;
  subjectKind: SubjectKind;
  subjectId: string;
  amountMinor: bigint;
  currency: string;
  reference: string;
  level: RiskLevel;
  firedRules: FiredRule[];
  verification: VerificationStep[];
  inputs: Record<string, string | null>;
  instrumentHash: string | null;
  now: Date;
}

/** Several decisions in one statement. */
export async function insertDecisions(db: Executor, ds: NewDecision[]): Promise<void> {
  if (ds.length === 0) return;
  const values = ds.map(
    (d) => sql`(${d.id}, ${d.flow}, ${d.subjectKind}, ${d.subjectId}, ${d.amountMinor.toString()}::int8, ${d.currency}, ${d.reference}, ${d.level},
      ${JSON.stringify(d.firedRules)}::jsonb, ${JSON.stringify(d.verification)}::jsonb, ${JSON.stringify(d.inputs)}::jsonb,
      ${d.instrumentHash}, ${d.level === 'HIGH' ? 'PENDING' : null}, ${d.now}::timestamptz)`,
  );
  await sql`
    insert into risk_decisions (id, flow, subject_kind, subject_id, amount_minor, currency, reference, level, fired_rules,
      verification, inputs, instrument_hash, review_status, created_at)
    values ${sql.join(values)}`.execute(db);
}

export async function findDecision(db: Executor, id: string): Promise<Decision | undefined> {
  const { rows } = await sql<DecisionRow>`select ${decisionColumns} from risk_decisions where id = ${id}`.execute(db);
  return rows[0] ? toDecision(rows[0]) : undefined;
}

/** Newest first. */
export async function listDecisions(
  db: Executor,
  filter: { subjectId?: string | undefined; subjectKind?: SubjectKind | undefined; level?: RiskLevel | undefined },
  limit: number,
  startingAfter: string | undefined,
): Promise<Decision[]> {
  const { rows } = await sql<DecisionRow>`
    select ${decisionColumns} from risk_decisions
    where ${filter.subjectId === undefined ? sql`true` : sql`subject_id = ${filter.subjectId}`}
      and ${filter.subjectKind === undefined ? sql`true` : sql`subject_kind = ${filter.subjectKind}`}
      and ${filter.level === undefined ? sql`true` : sql`level = ${filter.level}`}
      and ${startingAfter === undefined ? sql`true` : sql`id < ${startingAfter}`}
    order by id desc limit ${limit}`.execute(db);
  return rows.map(toDecision);
}

/** Oldest first: a review queue. */
export async function listReviews(db: Executor, status: ReviewStatus, limit: number, startingAfter: string | undefined): Promise<Decision[]> {
  const { rows } = await sql<DecisionRow>`
    select ${decisionColumns} from risk_decisions
    where review_status = ${status} and ${startingAfter === undefined ? sql`true` : sql`id > ${startingAfter}`}
    order by id limit ${limit}`.execute(db);
  return rows.map(toDecision);
}

/**
 * The one final answer to a review: PENDING -> APPROVED | REJECTED, guarded.
 * A rejection also releases the decision (the money request will not go ahead).
 */
export async function answerReview(
  db: Executor,
  a: { id: string; outcome: 'APPROVED' | 'REJECTED'; reviewer: string; note: string; now: Date },
): Promise<Decision | undefined> {
  const { rows } = await sql<DecisionRow>`
    update risk_decisions set review_status = ${a.outcome}, reviewed_by = ${a.reviewer}, review_note = ${a.note}, reviewed_at = ${a.now},
      released_at = ${a.outcome === 'REJECTED' ? a.now : null}::timestamptz
    where id = ${a.id} and review_status = 'PENDING'
    returning ${decisionColumns}`.execute(db);
  return rows[0] ? toDecision(rows[0]) : undefined;
}

/** Takes counted decisions out of the figures (a pending review is cancelled with them): those `which` selects, not released yet. */
async function releaseDecisions(db: Executor, which: RawBuilder<unknown>, now: Date): Promise<DecisionRow[]> {
  const { rows } = await sql<DecisionRow>`
    update risk_decisions set released_at = ${now},
      review_status = case when review_status = 'PENDING' then 'CANCELLED' else review_status end
    where ${which} and released_at is null and level <> 'REJECT'
    returning ${decisionColumns}`.execute(db);
  return rows;
}

/** Undefined if nothing changed. */
export async function releaseDecision(db: Executor, id: string, now: Date): Promise<Decision | undefined> {
  const [row] = await releaseDecisions(db, sql`id = ${id}`, now);
  return row ? toDecision(row) : undefined;
}

/** The decisions made for `reference` in `flow` (a request that died before it was saved); answers how many moved. */
export async function releaseDecisionsFor(db: Executor, flow: Flow, reference: string, now: Date): Promise<number> {
  return (await releaseDecisions(db, sql`flow = ${flow} and reference = ${reference}`, now)).length;
}

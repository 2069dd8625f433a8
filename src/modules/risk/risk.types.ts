import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';

export type DecisionId = Id<'rsk'>;
export type RuleId = Id<'rrl'>;
export type BlacklistEntryId = Id<'rbl'>;

export const flows = ['WITHDRAW', 'PAYOUT'] as const;
export type Flow = (typeof flows)[number];

export const subjectKinds = ['USER', 'MERCHANT'] as const;
export type SubjectKind = (typeof subjectKinds)[number];

/** Ordered: a decision's level is the highest any fired rule raises it to. */
export const riskLevels = ['LOW', 'MEDIUM', 'HIGH', 'REJECT'] as const;
export type RiskLevel = (typeof riskLevels)[number];
export type RaisedLevel = Exclude<RiskLevel, 'LOW'>;
export const raisedLevels = ['MEDIUM', 'HIGH', 'REJECT'] as const satisfies readonly RaisedLevel[];

export const ruleTypes = ['AMOUNT_THRESHOLD', 'DAILY_AMOUNT', 'DAILY_COUNT', 'VELOCITY', 'NEW_BENEFICIARY'] as const;
export type RuleType = (typeof ruleTypes)[number];

export const blacklistKinds = ['USER', 'MERCHANT', 'ID_NUMBER', 'CARD', 'BENEFICIARY_ACCOUNT'] as const;
export type BlacklistKind = (typeof blacklistKinds)[number];

/** What the person asking must pass, per level (seed 003: the higher the risk, the stronger the check). */
export const verificationSteps = ['TRANSACTION_PASSWORD', 'SMS_CODE', 'MANUAL_REVIEW'] as const;
export type VerificationStep = (typeof verificationSteps)[number];

export const reviewStatuses = ['PENDING', 'APPROVED', 'REJECTED', 'CANCELLED'] as const;
export type ReviewStatus = (typeof reviewStatuses)[number];

/** A review is answered once: PENDING -> APPROVED | REJECTED, or CANCELLED when the decision is released first. */
export const ReviewTransitions: Record<ReviewStatus, readonly ReviewStatus[]> = {
  PENDING: ['APPROVED', 'REJECTED', 'CANCELLED'],
  APPROVED: [],
  REJECTED: [],
  CANCELLED: [],
};

/** A rule's parameters, by type. Money thresholds are minor units of one currency. */
export type RuleParams =
  | { type: 'AMOUNT_THRESHOLD'; thresholdMinor: bigint; currency: CurrencyCode }
  | { type: 'DAILY_AMOUNT'; thresholdMinor: bigint; currency: CurrencyCode }
  | { type: 'DAILY_COUNT'; count: number }
  | { type: 'VELOCITY'; count: number; windowMinutes: number }
  | { type: 'NEW_BENEFICIARY' };

export type Rule = {
  id: RuleId;
  name: string;
  flows: Flow[];
  level: RaisedLevel;
  enabled: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: string;
} & RuleParams;

export interface RuleInput {
  name: string;
  flows: Flow[];
  level: RaisedLevel;
  enabled?: boolean;
  params: RuleParams;
}

export interface BlacklistEntry {
  id: BlacklistEntryId;
  kind: BlacklistKind;
  value: string;
  reason: string;
  createdBy: string;
  createdAt: Date;
  removedBy: string | null;
  removedAt: Date | null;
}

/** One rule (or blacklist entry) that fired, as recorded on the decision: a snapshot, so history survives rule edits. */
export interface FiredRule {
  ruleId: string | null;
  name: string;
  type: RuleType | 'BLACKLIST';
  level: RaisedLevel;
  /** The rule's version when it fired (null for a blacklist hit). */
  version: number | null;
  /** Why, in words with the figures: "amount 5000.00 CNY >= 5000.00 CNY". */
  detail: string;
}

export interface AssessInput {
  flow: Flow;
  subjectKind: SubjectKind;
  subjectId: string;
  amountMinor: bigint;
  currency: string;
  idNumber?: string | undefined;
  /** The user's debit card (withdrawals). */
  card?: string | undefined;
  /** The beneficiary's account number (payouts). */
  beneficiaryAccount?: string | undefined;
  /** The business record this decision is about, e.g. a withdraw record or payout id. */
  reference: string;
}

export interface Assessment {
  decisionId: DecisionId;
  level: RiskLevel;
  firedRules: FiredRule[];
  verification: VerificationStep[];
}

export interface Review {
  status: ReviewStatus;
  reviewedBy: string | null;
  note: string | null;
  reviewedAt: Date | null;
}

export interface Decision {
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
  /** The inputs as assessed; card, account and ID numbers masked. */
  inputs: Record<string, string | null>;
  review: Review | null;
  releasedAt: Date | null;
  createdAt: Date;
}

/** Published on the outbox, in the review's transaction, when a reviewer answers. */
export const RISK_REVIEWED = 'risk.reviewed';
export interface RiskReviewedEvent {
  decisionId: DecisionId;
  outcome: 'APPROVED' | 'REJECTED';
  flow: Flow;
  subjectKind: SubjectKind;
  subjectId: string;
  reference: string;
  reviewedBy: string;
  note: string;
  reviewedAt: string;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}

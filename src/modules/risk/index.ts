/**
 * The risk module's whole public surface (SPEC 6): blacklists, stored rules,
 * decisions, manual review.
 *
 * In the owning flow (user withdrawal, merchant payout), inside the transaction
 * that saves the money request:
 *
 *   const assessment = await risk.assess({ flow: 'WITHDRAW', subjectKind: 'USER', subjectId: userId,
 *     amountMinor, currency: 'CNY', card, reference: withdrawId }, trx);
 *   assertNotRejected(assessment);                // RISK_REJECTED (403)
 *   // assessment.verification: TRANSACTION_PASSWORD [+ SMS_CODE [+ MANUAL_REVIEW]]
 *
 * and when the request later fails or is cancelled: `risk.release(decisionId, trx)`.
 * HIGH decisions wait for a reviewer; subscribe to RISK_REVIEWED on the outbox
 * to continue (APPROVED) or cancel (REJECTED) the request.
 */
export { RiskService, assertNotRejected, DEFAULT_RISK_OPTIONS, type RiskDeps, type RiskOptions } from './risk.service.ts';
export { verificationFor, levelOf, riskDayStart, maskNumber } from './risk.rules.ts';
export { riskHttpModule } from './risk.routes.ts';
export { riskMigrations } from './risk.migrations.ts';
export {
  RISK_REVIEWED,
  flows,
  riskLevels,
  ruleTypes,
  blacklistKinds,
  type Assessment,
  type AssessInput,
  type BlacklistEntry,
  type BlacklistKind,
  type Decision,
  type DecisionId,
  type FiredRule,
  type Flow,
  type Review,
  type ReviewStatus,
  type RiskLevel,
  type RiskReviewedEvent,
  type Rule,
  type RuleInput,
  type RuleParams,
  type RuleType,
  type SubjectKind,
  type VerificationStep,
} from './risk.types.ts';

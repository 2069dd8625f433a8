/**
 * The reconciliation module's whole public surface (SPEC 5: daily reconciliation
 * files; README.md beside this file).
 *
 * For the portal:
 *
 *   const { csv, closed, sha256 } = await reconciliation.file(merchantId, '2026-12-03');
 *   const days = await reconciliation.days(merchantId, { limit: 30 });   // [{ date, closed, lines }], newest first
 *
 * main.ts feeds it the payouts module's PAYOUT_FINAL events (`payoutFinalConsumer`).
 */
export {
  ReconciliationService,
  payoutFinalConsumer,
  DEFAULT_RECONCILIATION_OPTIONS,
  type BookOutcome,
  type PayoutFinalPayload,
  type ReconciliationDeps,
  type ReconciliationOptions,
} from './reconciliation.service.ts';
export { reconciliationHttpModule, STATE_HEADER, SHA256_HEADER } from './reconciliation.routes.ts';
export { reconciliationMigrations } from './reconciliation.migrations.ts';
export type { DaySummary, Line, LineType, ReconciliationFile } from './reconciliation.types.ts';


/**
 * The payouts module's whole public surface (SPEC 5: single merchant payouts;
 * README.md beside this file).
 */
export { PayoutsService, payoutView, validatePayoutInput, ledgerIds, type PayoutsDeps, type PayoutView } from './payouts.service.ts';
export { payoutsHttpModule } from './payouts.routes.ts';
export { payoutsMigrations } from './payouts.migrations.ts';
export {
  PAYOUT_ACCEPTED,
  PAYOUT_FINAL,
  payoutStatuses,
  payoutTransitions,
  canTransition,
  type Payout,
  type PayoutId,
  type PayoutStatus,
  type PayoutInput,
  type PayoutOrigin,
  type ValidPayoutInput,
} from './payouts.types.ts';

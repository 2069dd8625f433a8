/**
 * The payout-batches module's whole public surface (SPEC 5: batch payouts;
 * README.md beside this file). For the portal:
 *
 *   const batch = await batches.create(merchantId, csvTextOrStream, { kind: 'operator', id: operatorId });
 *   await batches.approve(merchantId, batch.id, { kind: 'operator', id: checkerId });   // never the creator
 *   batchView(await batches.get(merchantId, batch.id));
 *   for await (const line of await batches.resultsCsv(merchantId, batch.id)) ...;
 */
export {
  PayoutBatchesService,
  DEFAULT_PAYOUT_BATCHES_OPTIONS,
  batchView,
  type BatchView,
  type PayoutBatchesDeps,
  type PayoutBatchesOptions,
  type PayoutFinalPayload,
} from './payout-batches.service.ts';
export { payoutBatchesHttpModule, BATCH_BODY_LIMIT_BYTES } from './payout-batches.routes.ts';
export { payoutBatchesMigrations } from './payout-batches.migrations.ts';
export { HEADER as BATCH_FILE_HEADER, RESULTS_HEADER as BATCH_RESULTS_HEADER } from './payout-batches.csv.ts';
export {
  batchStatuses,
  batchTransitions,
  rowStatuses,
  rowTransitions,
  type BatchActor,
  type BatchId,
  type BatchRow,
  type BatchStatus,
  type LineError,
  type PayoutBatch,
  type RowStatus,
  type RowTally,
} from './payout-batches.types.ts';

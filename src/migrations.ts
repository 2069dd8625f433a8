import type { Migration } from 'kysely/migration';
import { ledgerMigrations } from './modules/ledger/index.ts';
import { outboxMigrations } from './platform/outbox/outbox.migrations.ts';
import { usersMigrations } from './modules/users/index.ts';
import { depositoryMigrations } from './modules/depository/index.ts';
import { walletsMigrations } from './modules/wallets/index.ts';
import { auditMigrations } from './platform/audit.ts';
import { alertsMigrations } from './platform/alerts.ts';
import { idempotencyMigrations } from './platform/http/idempotency.ts';
import { fundingMigrations, merchantsMigrations } from './modules/merchants/index.ts';
import { smsMigrations } from './modules/sms/index.ts';
import { riskMigrations } from './modules/risk/index.ts';
import { payoutsMigrations } from './modules/payouts/index.ts';
import { webhooksMigrations } from './modules/webhooks/index.ts';
import { reconciliationMigrations } from './modules/reconciliation/index.ts';
import { payoutBatchesMigrations } from './modules/payout-batches/index.ts';
import { paymentsMigrations } from './modules/payments/index.ts';
import { clockMigrations } from './platform/clock.ts';
import { productsMigrations } from './modules/products/index.ts';
import { settlementCheckMigrations } from './modules/settlement-check/index.ts';
import { ordersMigrations } from './modules/orders/index.ts';
import { jobLeaseMigrations } from './platform/jobs.ts';

/**
 * Every module's migrations in one list. Names start with a date and sequence
 * so they sort in the order they must run on both stores.
 */
export const migrations: Record<string, Migration> = {
  ...outboxMigrations,
  ...ledgerMigrations,
  ...usersMigrations,
  ...depositoryMigrations,
  ...walletsMigrations,
  ...auditMigrations,
  ...idempotencyMigrations,
  ...merchantsMigrations,
  ...smsMigrations,
  ...riskMigrations,
  ...payoutsMigrations,
  ...webhooksMigrations,
  ...reconciliationMigrations,
  ...fundingMigrations,
  ...payoutBatchesMigrations,
  ...alertsMigrations,
  ...paymentsMigrations,
  ...clockMigrations,
  ...productsMigrations,
  ...settlementCheckMigrations,
  ...ordersMigrations,
  ...jobLeaseMigrations,
};

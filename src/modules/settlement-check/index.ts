/**
 * The three-way settlement check's whole public surface (issue 6; README
 * "Three-way reconciliation"): ledger vs Coffer's records vs the bank's signed
 * daily statement. Not the merchants' reconciliation files (../reconciliation).
 *
 *   const checks = new SettlementCheckService({ db, clock, logger, registry, statements: new BankStatements({...}),
 *     depository: agent, payouts, payments, ledger });
 *   await checks.run('2026-12-03');   // { run, breaks, pending }
 *   startIntervalJob('settlement-check.daily', ms, () => checks.runDue(), logger);
 */
export { SettlementCheckService, DEFAULT_SETTLEMENT_CHECK_OPTIONS, SETTLEMENT_CHECK, type DayResult, type SettlementCheckDeps, type SettlementCheckOptions } from './settlement-check.service.ts';
export { BankStatements, type BankStatementDeps, type StatementSource, type VerifiedStatement } from './settlement-check.bank.ts';
export { settlementCheckHttpModule } from './settlement-check.routes.ts';
export { settlementCheckMigrations } from './settlement-check.migrations.ts';
export { breaksCsv, CSV_HEADER } from './settlement-check.csv.ts';
export { breakTypes, runStatuses, type Break, type BreakType, type ItemKind, type Run, type RunStatus } from './settlement-check.types.ts';

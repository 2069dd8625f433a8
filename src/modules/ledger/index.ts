/** The ledger module's whole public surface. */
export { LedgerService, PLATFORM_OWNER_ID, type LedgerDeps, type OpenAccountInput } from './ledger.service.ts';
export { ledgerMigrations } from './ledger.migrations.ts';
export { formatReport, type InvariantCheck, type InvariantReport } from './ledger.invariants.ts';
export { formatChainReport, type ChainBreak, type ChainBreakReason, type ChainReport } from './ledger.chain.ts';
export * from './ledger.types.ts';
/** How an entry (a line of a bill) looks at the API, for modules that show one. */
export { EntryView } from './ledger.schemas.ts';
export { balanceSummary, entryView } from './ledger.views.ts';
export { LedgerMonitor, LEDGER_MONITOR, JOURNAL_CHAIN } from './ledger.monitor.ts';

import { Gauge, type Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import { raiseAlert, resolveAlerts } from '../../platform/alerts.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Logger } from '../../platform/log.ts';
import type { LedgerService } from './ledger.service.ts';

export const LEDGER_MONITOR = 'ledger.monitor';
/** The alert key and metric label of the journal's hash chains, beside the invariant checks' names. */
export const JOURNAL_CHAIN = 'journal_chain';

export interface LedgerMonitorDeps {
  ledger: LedgerService;
  db: Kysely<unknown>;
  clock: Clock;
  logger: Logger;
  registry: Registry;
}

interface Finding {
  key: string;
  broken: boolean;
  message: string;
  details: unknown;
}

/**
 * Checks the books continuously: every invariant and the journal's hash chains.
 * Each check is a 0/1 gauge (`coffer_ledger_invariant_broken{check}`), a break
 * is logged and raised as an admin alert (one open alert per broken check,
 * resolved when the check holds again). Read-only: several processes may run it.
 */
export class LedgerMonitor {
  private readonly broken: Gauge<'check'>;
  private readonly lastRun: Gauge;

  constructor(private readonly deps: LedgerMonitorDeps) {
    this.broken = new Gauge({
      name: 'coffer_ledger_invariant_broken',
      help: '1 while a ledger invariant (or the journal hash chain) is broken, by check',
      labelNames: ['check'] as const,
      registers: [deps.registry],
    });
    this.lastRun = new Gauge({
      name: 'coffer_ledger_monitor_last_run_seconds',
      help: 'When the ledger monitor last finished a full check (unix seconds)',
      registers: [deps.registry],
    });
  }

  async run(): Promise<{ ok: boolean }> {
    const findings = await this.check();
    const now = this.deps.clock.now();
    for (const finding of findings) {
      this.broken.labels({ check: finding.key }).set(finding.broken ? 1 : 0);
      if (!finding.broken) continue;
      this.deps.logger.error({ check: finding.key, details: finding.details }, `LEDGER BROKEN: ${finding.message}`);
      await raiseAlert(this.deps.db, { source: LEDGER_MONITOR, key: finding.key, message: finding.message, details: finding.details as never }, now);
    }
    const stillBroken = findings.filter((f) => f.broken).map((f) => f.key);
    await resolveAlerts(this.deps.db, LEDGER_MONITOR, stillBroken, now);
    this.lastRun.set(Date.now() / 1000);
    return { ok: stillBroken.length === 0 };
  }

  private async check(): Promise<Finding[]> {
    const invariants = await this.deps.ledger.checkInvariants();
    const chain = await this.deps.ledger.verifyChain();
    const findings: Finding[] = invariants.checks.map((check) => ({
      key: check.name,
      broken: !check.ok,
      message: `Ledger invariant broken: ${check.description}`,
      details: check.violations,
    }));
    const first = chain.firstBreak;
    findings.push({
      key: JOURNAL_CHAIN,
      broken: !chain.ok,
      message: first
        ? `Journal hash chain broken (${chain.breaks}): first at account ${first.accountId}, entry ${first.seq} (${first.reason})`
        : 'Journal hash chains intact',
      details: { breaks: chain.breaks, firstBreak: first },
    });
    return findings;
  }
}
